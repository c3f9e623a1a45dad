//! The site's own domain, as doctor sees it: the distribution's `Aliases` and `ViewerCertificate`,
//! the ACM certificate it names, and where the public DNS sends each alias. Collected only for a
//! distribution with aliases; without any, none of these checks runs.
//!
//! How "the alias resolves to the distribution" is known, simply: the system's resolver is asked
//! for `A` records of each alias and of the distribution's own domain ([`crate::dns`], one UDP
//! question each; a recursive resolver answers with the CNAME chain and the addresses). The alias
//! passes when its chain names the distribution's domain (a CNAME), or when it has addresses and
//! either this account's Route 53 zone holds an alias record to the distribution (CloudFront's zone
//! `Z2FDTNDATAQYW2`: an alias record answers with addresses alone, no CNAME) or its addresses are
//! among the distribution's (both asked of one resolver at one time). The answers are facts, so the
//! checks run on recorded answers.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checks::{fail, pass, Line};
use super::facts::{Distribution, Facts};
use crate::aws::Aws;
use crate::domain::{self as dom, DescribeCertificate, Zone};

/// `DistributionConfig.ViewerCertificate`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ViewerCertificate {
    #[serde(rename = "CloudFrontDefaultCertificate", default)]
    pub cloudfront_default_certificate: bool,
    #[serde(rename = "ACMCertificateArn", default)]
    pub acm_certificate_arn: Option<String>,
    #[serde(rename = "IAMCertificateId", default)]
    pub iam_certificate_id: Option<String>,
    #[serde(rename = "SSLSupportMethod", default)]
    pub ssl_support_method: Option<String>,
    #[serde(rename = "MinimumProtocolVersion", default)]
    pub minimum_protocol_version: Option<String>,
}

/// What doctor read about the distribution's own domain names.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DomainFacts {
    /// `acm describe-certificate` of the viewer certificate's ARN, in the ARN's region (`None`: not
    /// found, or the call failed — then `Facts::errors` says why).
    #[serde(default)]
    pub certificate: Option<DescribeCertificate>,
    /// The resolver's answers to an `A` question, by the name asked: each alias (a wildcard one
    /// through [`lookup_name`]) and the distribution's own domain name.
    #[serde(default)]
    pub lookups: BTreeMap<String, Lookup>,
    /// By alias: the record sets of that name in this account's public hosted zone holding it
    /// (absent: no such zone in this account).
    #[serde(default)]
    pub route53: BTreeMap<String, Route53Records>,
    /// Why Route 53 could not be read (not a failure: the DNS answers decide without it).
    #[serde(default)]
    pub route53_error: Option<String>,
}

/// One resolver answer.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Lookup {
    /// The resolver asked (`IP:PORT`).
    #[serde(default)]
    pub resolver: String,
    /// CNAME targets, in the order of the chain.
    #[serde(default)]
    pub cnames: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<String>,
    /// NXDOMAIN, SERVFAIL, no answer at all… (`None`: answered).
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Route53Records {
    pub zone_id: String,
    pub zone_name: String,
    /// `list-resource-record-sets` entries named like the alias.
    #[serde(default)]
    pub records: Vec<Value>,
}

/// The name asked for an alias: itself, or for `*.example.com` a name the wildcard covers.
pub fn lookup_name(alias: &str) -> String {
    match alias.strip_prefix("*.") {
        Some(rest) => format!("scalefront-doctor-probe.{rest}"),
        None => alias.to_owned(),
    }
}

fn norm(name: &str) -> String {
    name.trim()
        .trim_end_matches('.')
        .replace("\\052", "*")
        .to_ascii_lowercase()
}

/// Asks the system's resolver ([`crate::dns::lookup`]).
pub fn resolve(name: &str) -> Lookup {
    match crate::dns::lookup(name) {
        Ok((server, a)) => Lookup {
            resolver: server.to_string(),
            cnames: a.cnames.clone(),
            addresses: a.addresses.iter().map(ToString::to_string).collect(),
            error: a.error().or_else(|| {
                (a.addresses.is_empty() && a.cnames.is_empty())
                    .then(|| "no A record (NOERROR, empty answer)".to_owned())
            }),
        },
        Err(e) => Lookup {
            error: Some(e),
            ..Lookup::default()
        },
    }
}

/// Collects [`DomainFacts`] for a distribution with aliases (`None` without); failed AWS calls go
/// to `errors`. Names are resolved with [`resolve`].
pub fn collect(
    aws: &Aws,
    d: &Distribution,
    errors: &mut Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> Option<DomainFacts> {
    collect_with(aws, d, errors, progress, &mut resolve)
}

/// [`collect`] with the resolver passed in (tests answer from records).
pub fn collect_with(
    aws: &Aws,
    d: &Distribution,
    errors: &mut Vec<String>,
    progress: &mut dyn FnMut(&str),
    resolver: &mut dyn FnMut(&str) -> Lookup,
) -> Option<DomainFacts> {
    let aliases = &d.distribution_config.aliases.items;
    if aliases.is_empty() {
        return None;
    }
    let mut f = DomainFacts::default();
    if let Some(arn) = d
        .distribution_config
        .viewer_certificate
        .as_ref()
        .and_then(|v| v.acm_certificate_arn.as_deref())
        .filter(|a| !a.is_empty())
    {
        let region = dom::arn_region(arn).unwrap_or(dom::ACM_REGION);
        progress(&format!("reading certificate {arn}"));
        match aws.call_opt(
            region,
            &["acm", "describe-certificate", "--certificate-arn", arn],
        ) {
            Ok(Some(v)) => match serde_json::from_value(v) {
                Ok(c) => f.certificate = Some(c),
                Err(e) => errors.push(format!("unexpected shape of acm describe-certificate: {e}")),
            },
            Ok(None) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    progress(&format!(
        "asking DNS where {} lead(s), and Route 53 for their records",
        aliases.join(", ")
    ));
    for name in aliases
        .iter()
        .map(|a| lookup_name(a))
        .chain(std::iter::once(norm(&d.domain_name)))
    {
        let answer = resolver(&name);
        f.lookups.insert(name, answer);
    }
    match aws.call("us-east-1", &["route53", "list-hosted-zones-by-name"]) {
        Ok(list) => {
            for alias in aliases {
                let Some(zone) = dom::zone_for(&list, alias) else {
                    continue;
                };
                match dom::records_named(aws, &zone, alias) {
                    Ok(records) => {
                        let Zone { id, name } = zone;
                        f.route53.insert(
                            alias.clone(),
                            Route53Records {
                                zone_id: id,
                                zone_name: name,
                                records,
                            },
                        );
                    }
                    Err(e) => f.route53_error = Some(format!("{e:#}")),
                }
            }
        }
        Err(e) => f.route53_error = Some(e.to_string()),
    }
    Some(f)
}

/// The checks of the site's own domain (none for a distribution without aliases).
pub fn checks(f: &Facts) -> Vec<Line> {
    let d = &f.distribution.distribution;
    let aliases = &d.distribution_config.aliases.items;
    if aliases.is_empty() {
        return Vec::new();
    }
    let empty = DomainFacts::default();
    let df = f.domain.as_ref().unwrap_or(&empty);
    let vc = d
        .distribution_config
        .viewer_certificate
        .clone()
        .unwrap_or_default();
    let names = aliases.join(", ");
    let mut out = Vec::new();
    let deploy_fix = format!(
        "attach an ACM certificate from {} covering {names} (scalefront deploy --domain {} requests one)",
        dom::ACM_REGION,
        aliases[0]
    );
    let acm = vc.acm_certificate_arn.clone().filter(|a| !a.is_empty());
    let iam = vc.iam_certificate_id.clone().filter(|a| !a.is_empty());
    match (&acm, &iam) {
        (None, None) => {
            out.push(fail(
                "certificate",
                format!("{names}: the distribution serves CloudFront's own *.cloudfront.net certificate, so browsers refuse https://{}", lookup_name(&aliases[0])),
                deploy_fix,
            ));
        }
        (None, Some(id)) => {
            out.push(pass(
                "certificate",
                format!(
                    "IAM server certificate {id} (not ACM: its names and expiry are not checked)"
                ),
            ));
            out.push(viewer_tls(&vc));
        }
        (Some(arn), _) => {
            out.extend(certificate(df, arn, aliases, &deploy_fix));
            out.push(viewer_tls(&vc));
        }
    }
    for alias in aliases {
        out.push(alias_dns(d, df, alias));
    }
    out
}

fn certificate(df: &DomainFacts, arn: &str, aliases: &[String], deploy_fix: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let region = dom::arn_region(arn).unwrap_or("?");
    let Some(c) = df.certificate.as_ref().map(|c| &c.certificate) else {
        out.push(fail(
            "certificate",
            format!("certificate {arn} could not be read (it no longer exists, or acm:DescribeCertificate was denied: see the collect line)"),
            format!("grant acm:DescribeCertificate in {region}; if it is gone, {deploy_fix}"),
        ));
        return out;
    };
    let names = c.names();
    out.push(if region != dom::ACM_REGION {
        fail(
            "certificate",
            format!("certificate {arn} is in {region}; CloudFront uses ACM certificates from {} only", dom::ACM_REGION),
            deploy_fix.to_owned(),
        )
    } else if c.status != "ISSUED" {
        let why = match c.status.as_str() {
            "PENDING_VALIDATION" => {
                let records = dom::validation_records(c)
                    .iter()
                    .map(|r| format!("{} CNAME {}", r.name, r.value))
                    .collect::<Vec<_>>();
                format!("add its validation record(s) to DNS ({}); ACM issues it once it sees them", if records.is_empty() { "aws acm describe-certificate lists them".to_owned() } else { records.join("; ") })
            }
            "EXPIRED" => "ACM renews a DNS-validated certificate only while its validation CNAME stays in DNS: request a new one and attach it".to_owned(),
            _ => deploy_fix.to_owned(),
        };
        fail(
            "certificate",
            format!(
                "certificate {arn} is {}{}",
                c.status,
                c.failure_reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            why,
        )
    } else {
        pass(
            "certificate",
            format!("{arn} is ISSUED, in {region}, for {}", names.join(", ")),
        )
    });
    let uncovered: Vec<&str> = aliases
        .iter()
        .filter(|a| !dom::covers(&names, a))
        .map(String::as_str)
        .collect();
    out.push(if uncovered.is_empty() {
        pass(
            "certificate-names",
            format!("the certificate ({}) covers {}", names.join(", "), aliases.join(", ")),
        )
    } else {
        fail(
            "certificate-names",
            format!(
                "the certificate is for {}, which does not cover {} (a wildcard covers one level only)",
                names.join(", "),
                uncovered.join(", ")
            ),
            format!(
                "attach a certificate covering {} (scalefront deploy --domain {} finds or requests one)",
                uncovered.join(", "),
                uncovered[0]
            ),
        )
    });
    out
}

fn viewer_tls(vc: &ViewerCertificate) -> Line {
    let method = vc.ssl_support_method.as_deref().unwrap_or("(none)");
    let policy = vc.minimum_protocol_version.as_deref().unwrap_or("(none)");
    if method != dom::SSL_SUPPORT_METHOD {
        fail(
            "viewer-tls",
            format!(
                "SSLSupportMethod is {method}{}",
                if method == "vip" {
                    ": dedicated IP addresses, billed at $600 a month"
                } else {
                    ""
                }
            ),
            format!(
                "set SSLSupportMethod {} (every browser in use sends SNI)",
                dom::SSL_SUPPORT_METHOD
            ),
        )
    } else if !dom::STRICT_PROTOCOL_VERSIONS.contains(&policy) {
        fail(
            "viewer-tls",
            format!("security policy {policy} is weaker than {}: it still accepts older protocols or CBC cipher suites", dom::MINIMUM_PROTOCOL_VERSION),
            format!("set MinimumProtocolVersion {}", dom::MINIMUM_PROTOCOL_VERSION),
        )
    } else {
        pass("viewer-tls", format!("{method}, security policy {policy}"))
    }
}

fn alias_dns(d: &Distribution, df: &DomainFacts, alias: &str) -> Line {
    let target = norm(&d.domain_name);
    let asked = lookup_name(alias);
    let r53 = df.route53.get(alias);
    let r53_ok = r53.is_some_and(|z| {
        z.records.iter().any(|r| {
            let kind = r.get("Type").and_then(Value::as_str).unwrap_or("");
            let alias_target = r
                .pointer("/AliasTarget/DNSName")
                .and_then(Value::as_str)
                .map(norm);
            let values = r
                .get("ResourceRecords")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.get("Value").and_then(Value::as_str))
                .map(norm);
            match kind {
                "A" | "AAAA" => alias_target.as_deref() == Some(target.as_str()),
                "CNAME" => values.into_iter().any(|v| v == target),
                _ => false,
            }
        })
    });
    let fix = match (r53, r53_ok) {
        (Some(z), true) => format!(
            "hosted zone {} ({}) in this account has the record, but the public DNS does not answer with it: check that the domain's registrar delegates {} to the zone's name servers (aws route53 get-hosted-zone --id {})",
            z.zone_id, z.zone_name, z.zone_name, z.zone_id
        ),
        (Some(z), false) => format!(
            "point {alias} at {target}: scalefront deploy --domain {alias} --route53-zone {} adds alias A/AAAA records to hosted zone {} ({}), or add a CNAME {alias} → {target}",
            z.zone_id, z.zone_id, z.zone_name
        ),
        (None, _) => format!(
            "add a CNAME record {alias} → {target} at your DNS provider (at a zone apex, its ALIAS/ANAME record); changes can take a while to reach every resolver"
        ),
    };
    let Some(l) = df.lookups.get(&asked) else {
        return fail(
            "alias-dns",
            format!("{alias} was not looked up"),
            "run doctor where DNS works (it asks the resolver in /etc/resolv.conf, or $SCALEFRONT_RESOLVER)",
        );
    };
    let via = if asked == alias {
        String::new()
    } else {
        format!(" (asked as {asked})")
    };
    let theirs: Vec<&String> = df
        .lookups
        .get(&target)
        .map(|t| t.addresses.iter().collect())
        .unwrap_or_default();
    let shared = l.addresses.iter().filter(|a| theirs.contains(a)).count();
    if l.cnames.iter().any(|c| norm(c) == target) {
        pass("alias-dns", format!("{alias}{via} is a CNAME to {target}"))
    } else if !l.addresses.is_empty() && r53_ok {
        let z = r53.expect("r53_ok");
        pass(
            "alias-dns",
            format!(
                "{alias}{via} is an alias to {target} in hosted zone {} and resolves ({} address(es))",
                z.zone_name,
                l.addresses.len()
            ),
        )
    } else if l.cnames.is_empty() && shared > 0 {
        pass(
            "alias-dns",
            format!("{alias}{via} resolves to the distribution's addresses ({shared} shared with {target})"),
        )
    } else if let Some(last) = l.cnames.last() {
        fail(
            "alias-dns",
            format!(
                "{alias}{via} is a CNAME to {}, not to this distribution ({target})",
                norm(last)
            ),
            fix,
        )
    } else if l.addresses.is_empty() {
        let why = l.error.clone().unwrap_or_else(|| "no address".into());
        let route53 = match (&df.route53_error, r53) {
            (Some(e), None) => format!(" (Route 53 could not be read: {e})"),
            _ => String::new(),
        };
        fail(
            "alias-dns",
            format!("{alias}{via} does not resolve: {why}{route53}"),
            fix,
        )
    } else {
        fail(
            "alias-dns",
            format!(
                "{alias}{via} resolves to {}, not to this distribution ({target} resolves to {})",
                l.addresses.join(", "),
                if theirs.is_empty() {
                    "nothing".to_owned()
                } else {
                    theirs
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            fix,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(aliases: &[&str], vc: Value, domain: Value) -> Facts {
        serde_json::from_value(json!({
            "distribution": {"Distribution": {
                "Id": "E1", "ARN": "arn:aws:cloudfront::1:distribution/E1", "Status": "Deployed",
                "DomainName": "d111111abcdef8.cloudfront.net",
                "DistributionConfig": {
                    "Aliases": {"Quantity": aliases.len(), "Items": aliases},
                    "ViewerCertificate": vc,
                    "Origins": {"Quantity": 0},
                    "DefaultCacheBehavior": {"TargetOriginId": "x"}
                }
            }},
            "domain": domain
        }))
        .unwrap()
    }

    fn good_vc() -> Value {
        json!({"CloudFrontDefaultCertificate": false, "ACMCertificateArn": "arn:aws:acm:us-east-1:1:certificate/c",
               "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"})
    }

    fn cert(names: &[&str], status: &str) -> Value {
        json!({"Certificate": {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/c", "DomainName": names[0],
               "SubjectAlternativeNames": names, "Status": status}})
    }

    fn line<'a>(lines: &'a [Line], check: &str) -> &'a Line {
        lines
            .iter()
            .find(|l| l.check == check)
            .unwrap_or_else(|| panic!("no {check}: {lines:?}"))
    }

    #[test]
    fn no_aliases_no_checks() {
        let f = facts(
            &[],
            json!({"CloudFrontDefaultCertificate": true, "MinimumProtocolVersion": "TLSv1"}),
            Value::Null,
        );
        assert!(checks(&f).is_empty());
    }

    #[test]
    fn a_cname_a_wildcard_and_shared_addresses() {
        let f = facts(
            &["images.example.com", "*.cdn.example.com"],
            good_vc(),
            json!({
                "certificate": cert(&["images.example.com", "*.cdn.example.com"], "ISSUED"),
                "lookups": {
                    "images.example.com": {"cnames": ["d111111abcdef8.cloudfront.net."], "addresses": ["13.224.0.1"]},
                    "scalefront-doctor-probe.cdn.example.com": {"addresses": ["13.224.0.2", "13.224.0.9"]},
                    "d111111abcdef8.cloudfront.net": {"addresses": ["13.224.0.1", "13.224.0.2"]}
                }
            }),
        );
        let lines = checks(&f);
        assert!(lines.iter().all(|l| l.ok), "{lines:#?}");
        assert_eq!(lines.iter().filter(|l| l.check == "alias-dns").count(), 2);
        assert!(lines[lines.len() - 1]
            .message
            .contains("asked as scalefront-doctor-probe.cdn.example.com"));
    }

    #[test]
    fn failures_say_what_to_do() {
        // Another distribution's CNAME, no Route 53 zone here.
        let f = facts(
            &["images.example.com"],
            good_vc(),
            json!({
            "certificate": cert(&["*.example.com"], "ISSUED"),
            "lookups": {"images.example.com": {"cnames": ["d999.cloudfront.net"], "addresses": ["13.224.0.1"]},
                        "d111111abcdef8.cloudfront.net": {"addresses": ["13.224.0.1"]}}}),
        );
        let l = line(&checks(&f), "alias-dns").clone();
        assert!(
            !l.ok && l.message.contains("CNAME to d999.cloudfront.net"),
            "{l:?}"
        );
        assert!(
            l.fix
                .contains("add a CNAME record images.example.com → d111111abcdef8.cloudfront.net"),
            "{l:?}"
        );
        // Route 53 has the alias, the public DNS does not: delegation.
        let f = facts(
            &["images.example.com"],
            good_vc(),
            json!({
            "certificate": cert(&["images.example.com"], "ISSUED"),
            "lookups": {"images.example.com": {"error": "NXDOMAIN (no such name)"}},
            "route53": {"images.example.com": {"zone_id": "Z0COM", "zone_name": "example.com", "records": [
                {"Name": "images.example.com.", "Type": "A", "AliasTarget": {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d111111abcdef8.cloudfront.net.", "EvaluateTargetHealth": false}}]}}}),
        );
        let l = line(&checks(&f), "alias-dns").clone();
        assert!(!l.ok && l.message.contains("NXDOMAIN"), "{l:?}");
        assert!(l.fix.contains("registrar delegates example.com"), "{l:?}");
        // A zone here without the record: deploy can add it.
        let f = facts(
            &["images.example.com"],
            good_vc(),
            json!({
            "certificate": cert(&["images.example.com"], "ISSUED"),
            "lookups": {"images.example.com": {"addresses": ["192.0.2.1"]}, "d111111abcdef8.cloudfront.net": {"addresses": ["13.224.0.1"]}},
            "route53": {"images.example.com": {"zone_id": "Z0COM", "zone_name": "example.com", "records": [
                {"Name": "images.example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.1"}]}]}}}),
        );
        let lines = checks(&f);
        let l = line(&lines, "alias-dns");
        assert!(
            !l.ok
                && l.message
                    .contains("resolves to 192.0.2.1, not to this distribution"),
            "{l:?}"
        );
        assert!(l.fix.contains("--route53-zone Z0COM"), "{l:?}");
        // The other domain checks pass meanwhile.
        assert!(
            lines
                .iter()
                .filter(|l| l.check != "alias-dns")
                .all(|l| l.ok),
            "{lines:#?}"
        );
    }

    #[test]
    fn certificate_states() {
        let dns = json!({"images.example.com": {"cnames": ["d111111abcdef8.cloudfront.net"]}});
        let with = |vc: Value, c: Value| {
            checks(&facts(
                &["images.example.com"],
                vc,
                json!({"certificate": c, "lookups": dns}),
            ))
        };
        let l = with(good_vc(), cert(&["images.example.com"], "EXPIRED"));
        assert!(
            !line(&l, "certificate").ok && line(&l, "certificate").fix.contains("validation CNAME")
        );
        let l = with(good_vc(), Value::Null);
        assert!(line(&l, "certificate")
            .message
            .contains("could not be read"));
        let l = with(
            json!({"CloudFrontDefaultCertificate": true, "MinimumProtocolVersion": "TLSv1"}),
            Value::Null,
        );
        assert!(line(&l, "certificate")
            .message
            .contains("*.cloudfront.net certificate"));
        assert!(l
            .iter()
            .all(|l| l.check != "viewer-tls" && l.check != "certificate-names"));
        let l = with(
            json!({"IAMCertificateId": "ASCA1", "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"}),
            Value::Null,
        );
        assert!(line(&l, "certificate").ok && line(&l, "viewer-tls").ok);
        let mut vc = good_vc();
        vc["MinimumProtocolVersion"] = json!("TLSv1.3_2025");
        assert!(
            line(
                &with(vc.clone(), cert(&["images.example.com"], "ISSUED")),
                "viewer-tls"
            )
            .ok
        );
        vc["MinimumProtocolVersion"] = json!("TLSv1");
        assert!(
            !line(
                &with(vc, cert(&["images.example.com"], "ISSUED")),
                "viewer-tls"
            )
            .ok
        );
    }
}
