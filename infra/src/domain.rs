//! The site's own domain (`deploy --domain images.example.com`): the alias CloudFront answers for,
//! the ACM certificate that covers it, and the DNS records that lead to the distribution.
//!
//! Pure parts (validation, coverage, validation records, Route 53 change batches, picking a hosted
//! zone) are plain functions over the `aws` CLI's JSON; the I/O parts ([`ensure_certificate`],
//! [`check_certificate`], [`point_alias`]) go through [`crate::aws::Aws`], and each has a `describe_…`
//! twin that says the same steps in words for `deploy --dry-run`.
//!
//! Platform facts this module rests on (AWS documentation):
//! - CloudFront uses ACM certificates **only from us-east-1** ("To use an ACM certificate with Amazon
//!   CloudFront, you must request or import the certificate in the US East (N. Virginia) region",
//!   <https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html>; `ViewerCertificate.ACMCertificateArn`,
//!   <https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ViewerCertificate.html>).
//! - Alternate domain names must be lowercase and covered by the certificate's subject alternative
//!   names; a wildcard alias starts with `*.` and replaces a whole leftmost label
//!   (<https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/CNAMEs.html#alternate-domain-names-requirements>,
//!   <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/alternate-domain-names-wildcard.html>).
//!   A trailing dot makes CloudFront say the certificate does not cover the name, so it is dropped.
//! - A certificate's wildcard name `*.example.com` protects one level of subdomain (`www.example.com`,
//!   not `a.b.example.com`, not `example.com` itself); names compare case-insensitively (RFC 5280
//!   §7.2). ACM: "*.example.com protects www.example.com, site.example.com, and images.example.com"
//!   (<https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html>,
//!   <https://docs.aws.amazon.com/acm/latest/userguide/acm-certificate-characteristics.html>).
//! - A DNS name is at most 253 characters, each label at most 63; the certificate's first name (its
//!   common name) at most 64 (`RequestCertificate.DomainName`, same page). The idempotency token is
//!   `\w+`, at most 32 characters, and lasts one hour.
//! - DNS validation: each name gets a CNAME `_x.name.` → `_y.acm-validations.aws.` in
//!   `DomainValidationOptions[].ResourceRecord`; ACM keeps trying for 72 hours, then says
//!   `VALIDATION_TIMED_OUT` (<https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html>,
//!   <https://docs.aws.amazon.com/acm/latest/userguide/troubleshooting-DNS-validation.html>).
//! - A Route 53 alias record to a distribution names hosted zone `Z2FDTNDATAQYW2` ("CloudFront
//!   distribution: Specify Z2FDTNDATAQYW2",
//!   <https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html>); with IPv6 on,
//!   an AAAA alias as well as an A alias
//!   (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-cloudfront-distribution.html>).
//!   Route 53 spells `*` in record names as `\052`.
//! - Security policy `TLSv1.2_2021` with SNI (`sni-only`; `vip` is a dedicated IP at $600 a month)
//!   (<https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html>,
//!   <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-https-dedicated-ip-or-sni.html>).
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::aws::Aws;

/// Where CloudFront's certificates live.
pub const ACM_REGION: &str = "us-east-1";
/// Route 53 calls are global; the CLI still wants a region.
const ROUTE53_REGION: &str = "us-east-1";
/// The hosted zone id of every CloudFront distribution, for Route 53 alias records.
pub const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";
/// `ViewerCertificate.SSLSupportMethod` deploy sets.
pub const SSL_SUPPORT_METHOD: &str = "sni-only";
/// `ViewerCertificate.MinimumProtocolVersion` deploy sets.
pub const MINIMUM_PROTOCOL_VERSION: &str = "TLSv1.2_2021";
/// Security policies at least as strict as [`MINIMUM_PROTOCOL_VERSION`] (doctor accepts each).
pub const STRICT_PROTOCOL_VERSIONS: &[&str] = &["TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"];
/// Key types deploy reuses (ACM's default RSA_2048, and ECDSA P-256), both served by CloudFront.
const KEY_TYPES: &str = "keyTypes=RSA_2048,EC_prime256v1";
/// TTL of the validation CNAMEs deploy writes.
const VALIDATION_TTL: u64 = 300;

/// Why a name cannot be an alternate domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AliasError {
    #[error("the domain name is empty")]
    Empty,
    #[error("{0:?} is a URL: give the host name alone (e.g. images.example.com)")]
    NotAHost(String),
    #[error("{0:?} is not ASCII: give an internationalised name in its xn-- (punycode) form")]
    NotAscii(String),
    #[error("{name:?} is {len} characters long; a DNS name has at most 253")]
    TooLong { name: String, len: usize },
    #[error("{0:?} has one label: CloudFront needs a full domain name like images.example.com")]
    OneLabel(String),
    #[error("{name:?}: label {label:?} is {problem}")]
    BadLabel {
        name: String,
        label: String,
        problem: &'static str,
    },
    #[error("{0:?}: a wildcard alias must start with \"*.\" and replace the whole leftmost label (*.example.com), never part of a label or a middle label")]
    BadWildcard(String),
    #[error("{0:?} is an IP address: CloudFront answers for domain names")]
    IpAddress(String),
}

/// Checks an alternate domain name and returns it as CloudFront wants it: lowercase, without a
/// trailing dot. A wildcard (`*.example.com`) is accepted as CloudFront accepts it.
pub fn validate_alias(input: &str) -> Result<String, AliasError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(AliasError::Empty);
    }
    if trimmed.contains("://") || trimmed.contains('/') || trimmed.contains(':') {
        return Err(AliasError::NotAHost(trimmed.to_owned()));
    }
    if !trimmed.is_ascii() {
        return Err(AliasError::NotAscii(trimmed.to_owned()));
    }
    let name = trimmed
        .strip_suffix('.')
        .unwrap_or(trimmed)
        .to_ascii_lowercase();
    if name.len() > 253 {
        return Err(AliasError::TooLong {
            len: name.len(),
            name,
        });
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(AliasError::OneLabel(name));
    }
    if labels
        .iter()
        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(AliasError::IpAddress(name));
    }
    let wildcard = labels[0] == "*";
    if name.contains('*') && !(wildcard && labels[1..].iter().all(|l| !l.contains('*'))) {
        return Err(AliasError::BadWildcard(name));
    }
    if wildcard && labels.len() < 3 {
        return Err(AliasError::OneLabel(name));
    }
    let bad = |label: &str, problem| AliasError::BadLabel {
        name: name.clone(),
        label: label.to_owned(),
        problem,
    };
    for label in &labels[usize::from(wildcard)..] {
        if label.is_empty() {
            return Err(bad(label, "empty (two dots in a row?)"));
        }
        if label.len() > 63 {
            return Err(bad(label, "longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(label, "not made of letters, digits and hyphens alone"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad(label, "starting or ending with a hyphen"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad(
            labels[labels.len() - 1],
            "all digits (no top-level domain is)",
        ));
    }
    Ok(name)
}

fn norm(name: &str) -> String {
    let n = name.trim();
    let n = n.strip_suffix('.').unwrap_or(n);
    // Route 53 writes `*` as its octal escape.
    n.replace("\\052", "*").to_ascii_lowercase()
}

/// Whether a certificate with these names (its domain name and subject alternative names) covers
/// `alias`: the same name, or a wildcard name one level above it (`*.example.com` covers
/// `images.example.com`, not `a.images.example.com` nor `example.com`). Case-insensitive.
pub fn covers<S: AsRef<str>>(cert_names: &[S], alias: &str) -> bool {
    let alias = norm(alias);
    cert_names.iter().any(|n| {
        let n = norm(n.as_ref());
        if n == alias {
            return true;
        }
        match (n.strip_prefix("*."), alias.split_once('.')) {
            (Some(parent), Some((first, rest))) => {
                rest == parent && !first.is_empty() && first != "*"
            }
            _ => false,
        }
    })
}

/// `acm describe-certificate`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCertificate {
    pub certificate: Certificate,
}

/// The fields of an ACM certificate deploy and doctor read.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Certificate {
    pub certificate_arn: String,
    #[serde(default)]
    pub domain_name: String,
    #[serde(default)]
    pub subject_alternative_names: Vec<String>,
    /// PENDING_VALIDATION, ISSUED, INACTIVE, EXPIRED, VALIDATION_TIMED_OUT, REVOKED or FAILED.
    #[serde(default)]
    pub status: String,
    /// AMAZON_ISSUED, IMPORTED or PRIVATE.
    #[serde(default, rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub in_use_by: Vec<String>,
    #[serde(default)]
    pub domain_validation_options: Vec<DomainValidation>,
    /// As the CLI prints it (ISO 8601 text or epoch seconds, by its version and settings).
    #[serde(default)]
    pub not_after: Option<Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DomainValidation {
    pub domain_name: String,
    #[serde(default)]
    pub validation_status: Option<String>,
    #[serde(default)]
    pub validation_method: Option<String>,
    #[serde(default)]
    pub resource_record: Option<ResourceRecord>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceRecord {
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub value: String,
}

impl Certificate {
    /// Its domain name and subject alternative names, each once.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in std::iter::once(&self.domain_name).chain(&self.subject_alternative_names) {
            if !n.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(n)) {
                out.push(n.clone());
            }
        }
        out
    }

    /// The region in its ARN.
    pub fn region(&self) -> Option<&str> {
        arn_region(&self.certificate_arn)
    }
}

/// The region of an ACM certificate ARN (`arn:aws:acm:REGION:ACCOUNT:certificate/ID`).
pub fn arn_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6 && parts[0] == "arn" && parts[2] == "acm" && !parts[3].is_empty())
        .then(|| parts[3])
}

/// One DNS record that proves control of a name to ACM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationRecord {
    /// The certificate's name it validates (`images.example.com`, `*.example.com`).
    pub domain: String,
    /// Record name, as ACM gives it (fully qualified, trailing dot).
    pub name: String,
    /// `CNAME`.
    pub kind: String,
    pub value: String,
    /// ACM's validation status for `domain` (PENDING_VALIDATION, SUCCESS, FAILED).
    pub status: String,
}

/// The DNS validation records of a certificate (`DomainValidationOptions[].ResourceRecord`), each
/// record once (a name and its wildcard share one). Empty while ACM has not made them yet (a few
/// seconds after the request).
pub fn validation_records(c: &Certificate) -> Vec<ValidationRecord> {
    let mut out: Vec<ValidationRecord> = Vec::new();
    for o in &c.domain_validation_options {
        let Some(r) = &o.resource_record else {
            continue;
        };
        if out.iter().any(|x| norm(&x.name) == norm(&r.name)) {
            continue;
        }
        out.push(ValidationRecord {
            domain: o.domain_name.clone(),
            name: r.name.clone(),
            kind: r.kind.clone(),
            value: r.value.clone(),
            status: o.validation_status.clone().unwrap_or_default(),
        });
    }
    out
}

/// Whether every name of the certificate has its validation record yet.
fn records_complete(c: &Certificate) -> bool {
    !c.domain_validation_options.is_empty()
        && c.domain_validation_options
            .iter()
            .all(|o| o.resource_record.is_some())
}

/// `route53 change-resource-record-sets --change-batch` that UPSERTs the validation CNAMEs.
pub fn validation_change_batch(records: &[ValidationRecord]) -> Value {
    json!({
        "Comment": "scalefront: ACM DNS validation",
        "Changes": records.iter().map(|r| json!({
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": r.name,
                "Type": r.kind,
                "TTL": VALIDATION_TTL,
                "ResourceRecords": [{"Value": r.value}],
            }
        })).collect::<Vec<_>>(),
    })
}

/// `route53 change-resource-record-sets --change-batch` that UPSERTs alias A and AAAA records from
/// `alias` to the distribution (IPv4 and IPv6; scalefront's distributions have IPv6 on).
pub fn alias_change_batch(alias: &str, distribution_domain: &str) -> Value {
    let target = norm(distribution_domain);
    let types = ["A", "AAAA"];
    json!({
        "Comment": format!("scalefront: {alias} -> {target}"),
        "Changes": types.iter().map(|t| json!({
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": norm(alias),
                "Type": t,
                "AliasTarget": {
                    "HostedZoneId": CLOUDFRONT_HOSTED_ZONE_ID,
                    "DNSName": target,
                    "EvaluateTargetHealth": false,
                },
            }
        })).collect::<Vec<_>>(),
    })
}

/// A public Route 53 hosted zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// `Z…`, without `/hostedzone/`.
    pub id: String,
    /// Without the trailing dot, lowercase.
    pub name: String,
}

fn public_zones(list: &Value) -> Vec<Zone> {
    list.get("HostedZones")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|z| {
            !z.pointer("/Config/PrivateZone")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .filter_map(|z| {
            Some(Zone {
                id: z
                    .get("Id")?
                    .as_str()?
                    .trim_start_matches("/hostedzone/")
                    .to_owned(),
                name: norm(z.get("Name")?.as_str()?),
            })
        })
        .collect()
}

/// Whether `name` is `zone` or inside it.
pub fn in_zone(name: &str, zone: &str) -> bool {
    let (name, zone) = (norm(name), norm(zone));
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// The public hosted zone that holds `name` (the longest zone name it ends with) in a
/// `route53 list-hosted-zones-by-name` answer; private zones are skipped (CloudFront's viewers ask
/// the public DNS). Two public zones of that name: the first, as Route 53 lists them.
pub fn zone_for(list: &Value, name: &str) -> Option<Zone> {
    public_zones(list)
        .into_iter()
        .filter(|z| in_zone(name, &z.name))
        .fold(None, |best: Option<Zone>, z| match best {
            Some(b) if b.name.len() >= z.name.len() => Some(b),
            _ => Some(z),
        })
}

/// The zone `--route53-zone` names (its id, with or without `/hostedzone/`, or its name), checked to
/// hold `alias`.
pub fn pick_zone(list: &Value, given: &str, alias: &str) -> Result<Zone> {
    let given = given.trim();
    let id = given.trim_start_matches("/hostedzone/");
    let zones = public_zones(list);
    let by_id: Vec<&Zone> = zones.iter().filter(|z| z.id == id).collect();
    let matches: Vec<&Zone> = if by_id.is_empty() {
        zones.iter().filter(|z| z.name == norm(given)).collect()
    } else {
        by_id
    };
    let zone = match matches.as_slice() {
        [] => bail!("no public Route 53 hosted zone {given} in this account (aws route53 list-hosted-zones lists yours; private zones cannot serve a CloudFront alias)"),
        [z] => (*z).clone(),
        many => bail!(
            "{} public hosted zones are named {given} ({}): pass --route53-zone with the id of the one your registrar delegates to",
            many.len(),
            many.iter().map(|z| z.id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    if !in_zone(alias, &zone.name) {
        bail!(
            "{alias} is not in hosted zone {} ({}): pass the zone that holds it",
            zone.id,
            zone.name
        );
    }
    Ok(zone)
}

/// ACM's idempotency token for a request for `alias`: the same alias within the hour gets the same
/// certificate, never a second one.
pub fn idempotency_token(alias: &str) -> String {
    let digest = Sha256::digest(norm(alias).as_bytes());
    format!("sf{}", &crate::template::hex(&digest)[..30])
}

/// How long and how often to wait for ACM and Route 53.
#[derive(Clone, Copy, Debug)]
pub struct Wait {
    pub timeout: Duration,
    pub every: Duration,
}

impl Default for Wait {
    /// Half an hour, polling every 15 s: DNS validation usually takes minutes once the records are
    /// in place; ACM itself keeps trying for 72 hours, and a later deploy picks the certificate up.
    fn default() -> Self {
        Wait {
            timeout: Duration::from_secs(30 * 60),
            every: Duration::from_secs(15),
        }
    }
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    if s < 120 {
        format!("{s} s")
    } else {
        format!("{} min", s / 60)
    }
}

/// The steps of [`ensure_certificate`] / [`check_certificate`], in words, for `deploy --dry-run`.
pub fn describe_certificate(alias: &str, certificate: Option<&str>, zone: Option<&str>) -> String {
    match certificate {
        Some(arn) => format!(
            "certificate: use {arn} for {alias} — checked with acm describe-certificate: in {ACM_REGION}, covering {alias}, ISSUED (a pending one is waited for)"
        ),
        None => {
            let w = Wait::default();
            let records = match zone {
                Some(z) => format!("UPSERT its DNS validation CNAME record(s) into Route 53 hosted zone {z}"),
                None => "print its DNS validation CNAME record(s) for you to add at your DNS provider".to_owned(),
            };
            format!(
                "certificate: reuse an ISSUED (or pending) ACM certificate in {ACM_REGION} covering {alias} (acm list-certificates + describe-certificate), else request one (acm request-certificate --domain-name {alias} --validation-method DNS --idempotency-token {}); {records}; wait until ACM says ISSUED (up to {}, polling every {})",
                idempotency_token(alias),
                minutes(w.timeout),
                minutes(w.every),
            )
        }
    }
}

/// The step of [`point_alias`], in words, for `deploy --dry-run` (the distribution's domain is
/// known only once the stack exists).
pub fn describe_point_alias(
    alias: &str,
    zone: Option<&str>,
    distribution_domain: Option<&str>,
) -> String {
    let target = distribution_domain.unwrap_or("the distribution's domain (dxxxx.cloudfront.net)");
    match zone {
        Some(z) => format!(
            "dns: UPSERT alias A and AAAA records {alias} → {target} (CloudFront's hosted zone {CLOUDFRONT_HOSTED_ZONE_ID}) into Route 53 hosted zone {z}, and wait until Route 53 says INSYNC"
        ),
        None => format!(
            "dns: print the record to add at your DNS provider: {alias} CNAME {target} (at a zone apex, your provider's ALIAS/ANAME record)"
        ),
    }
}

fn describe(aws: &Aws, arn: &str) -> Result<Option<Certificate>> {
    let v = aws.call_opt(
        ACM_REGION,
        &["acm", "describe-certificate", "--certificate-arn", arn],
    )?;
    v.map(|v| {
        serde_json::from_value::<DescribeCertificate>(v)
            .map(|d| d.certificate)
            .context("unexpected shape of acm describe-certificate")
    })
    .transpose()
}

/// Among described certificates, the one deploy should use for `alias`: an ISSUED one covering it,
/// else one pending DNS validation covering it (a deploy that timed out earlier carries on with it).
pub fn choose<'a>(certs: &'a [Certificate], alias: &str) -> Option<&'a Certificate> {
    let fits =
        |c: &&Certificate| covers(&c.names(), alias) && c.region().is_none_or(|r| r == ACM_REGION);
    certs
        .iter()
        .filter(fits)
        .find(|c| c.status == "ISSUED")
        .or_else(|| {
            certs.iter().filter(fits).find(|c| {
                c.status == "PENDING_VALIDATION"
                    && c.domain_validation_options
                        .iter()
                        .all(|o| o.validation_method.as_deref().unwrap_or("DNS") == "DNS")
            })
        })
}

/// Names a `list-certificates` summary gives (`None`: not all of them, so describe to know).
fn summary_names(s: &Value) -> Option<Vec<String>> {
    if s.get("HasAdditionalSubjectAlternativeNames")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return None;
    }
    let mut names: Vec<String> = s
        .get("DomainName")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .into_iter()
        .collect();
    for key in ["SubjectAlternativeNameSummaries", "SubjectAlternativeNames"] {
        names.extend(
            s.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned),
        );
    }
    Some(names)
}

fn find_existing(aws: &Aws, alias: &str) -> Result<Option<Certificate>> {
    let list = aws.call(
        ACM_REGION,
        &[
            "acm",
            "list-certificates",
            "--certificate-statuses",
            "ISSUED",
            "PENDING_VALIDATION",
            "--includes",
            KEY_TYPES,
        ],
    )?;
    let mut described = Vec::new();
    for s in list
        .get("CertificateSummaryList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if summary_names(s).is_some_and(|n| !covers(&n, alias)) {
            continue;
        }
        let Some(arn) = s.get("CertificateArn").and_then(Value::as_str) else {
            continue;
        };
        if let Some(c) = describe(aws, arn)? {
            described.push(c);
        }
    }
    Ok(choose(&described, alias).cloned())
}

fn list_zones(aws: &Aws) -> Result<Value> {
    Ok(aws.call(ROUTE53_REGION, &["route53", "list-hosted-zones-by-name"])?)
}

/// Runs a change batch and waits (within `wait`) until Route 53 says INSYNC.
fn change(
    aws: &Aws,
    zone: &Zone,
    batch: &Value,
    wait: &Wait,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let v = aws.call(
        ROUTE53_REGION,
        &[
            "route53",
            "change-resource-record-sets",
            "--hosted-zone-id",
            &zone.id,
            "--change-batch",
            &batch.to_string(),
        ],
    )?;
    let id = v
        .pointer("/ChangeInfo/Id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_start_matches("/change/")
        .to_owned();
    let mut status = v
        .pointer("/ChangeInfo/Status")
        .and_then(Value::as_str)
        .unwrap_or("PENDING")
        .to_owned();
    let start = Instant::now();
    while status != "INSYNC" && !id.is_empty() {
        if start.elapsed() >= wait.timeout {
            say(&format!(
                "Route 53 change {id} is still {status} after {}: it will finish on its own (aws route53 get-change --id {id})",
                minutes(start.elapsed())
            ));
            return Ok(());
        }
        std::thread::sleep(wait.every);
        status = aws
            .call(ROUTE53_REGION, &["route53", "get-change", "--id", &id])?
            .pointer("/ChangeInfo/Status")
            .and_then(Value::as_str)
            .unwrap_or("PENDING")
            .to_owned();
    }
    Ok(())
}

/// The lines that tell a user which validation records to add.
fn records_text(records: &[ValidationRecord]) -> String {
    let mut out = String::from("add these DNS records at your DNS provider (ACM checks them until it issues the certificate):\n");
    for r in records {
        out.push_str(&format!("    {}  {}  {}\n", r.name, r.kind, r.value));
    }
    out.trim_end().to_owned()
}

/// Waits for `arn` to be ISSUED: shows (or, with a zone, writes) its validation records once ACM has
/// made them, says how the wait goes, and turns every final state other than ISSUED into its fix.
fn await_issued(
    aws: &Aws,
    arn: &str,
    alias: &str,
    zone: Option<&Zone>,
    wait: &Wait,
    say: &mut dyn FnMut(&str),
) -> Result<Certificate> {
    let start = Instant::now();
    let mut records_done = false;
    let mut said_at: Option<Duration> = None;
    loop {
        // Just after a request ACM may not know the ARN for a few seconds: that is "not yet".
        let c = describe(aws, arn)?;
        let status = c.as_ref().map(|c| c.status.clone()).unwrap_or_default();
        match status.as_str() {
            "ISSUED" => {
                say(&format!("certificate {arn} is ISSUED"));
                return Ok(c.expect("described"));
            }
            "FAILED" => {
                let c = c.expect("described");
                bail!(
                    "ACM could not issue certificate {arn} for {alias}: {} — see https://docs.aws.amazon.com/acm/latest/userguide/troubleshooting-failed.html (a CAA record that does not allow amazon.com is a common cause); delete it (aws acm delete-certificate --region {ACM_REGION} --certificate-arn {arn}) and deploy again",
                    c.failure_reason.as_deref().unwrap_or("no reason given")
                )
            }
            "VALIDATION_TIMED_OUT" => bail!(
                "certificate {arn} for {alias} timed out: ACM did not find its DNS validation record within 72 hours; delete it (aws acm delete-certificate --region {ACM_REGION} --certificate-arn {arn}), and deploy again with the new records in place (or with --route53-zone)"
            ),
            "PENDING_VALIDATION" | "" => {}
            other => bail!(
                "certificate {arn} for {alias} is {other}, not usable by CloudFront: pass another with --certificate, or drop --certificate to have deploy request one"
            ),
        }
        if let Some(c) = c.as_ref().filter(|c| !records_done && records_complete(c)) {
            let records = validation_records(c);
            match zone {
                Some(z) => {
                    change(aws, z, &validation_change_batch(&records), wait, say)?;
                    say(&format!(
                        "wrote {} validation record(s) into Route 53 hosted zone {} ({}): {}",
                        records.len(),
                        z.id,
                        z.name,
                        records
                            .iter()
                            .map(|r| format!("{} CNAME {}", r.name, r.value))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                }
                None => say(&records_text(&records)),
            }
            records_done = true;
        }
        let elapsed = start.elapsed();
        if elapsed >= wait.timeout {
            let records = c.as_ref().map(validation_records).unwrap_or_default();
            bail!(
                "certificate {arn} for {alias} is still PENDING_VALIDATION after {}: ACM has not seen {} yet (DNS changes can take a while to reach everyone; ACM keeps checking for 72 hours). Check with `dig CNAME {}`, then run the same deploy again: it picks this certificate up",
                minutes(elapsed),
                if records.is_empty() { "its validation records".to_owned() } else { records.iter().map(|r| format!("{} CNAME {}", r.name, r.value)).collect::<Vec<_>>().join(", ") },
                records.first().map(|r| r.name.as_str()).unwrap_or(alias),
            );
        }
        // One progress line at the start and about once a minute after.
        if said_at.is_none_or(|t| elapsed.saturating_sub(t) >= Duration::from_secs(60)) {
            say(&format!(
                "waiting for ACM to validate {alias} ({}, {} of at most {})",
                if status.is_empty() {
                    "not visible yet"
                } else {
                    status.as_str()
                },
                minutes(elapsed),
                minutes(wait.timeout)
            ));
            said_at = Some(elapsed);
        }
        std::thread::sleep(wait.every);
    }
}

/// Finds or makes the ACM certificate (us-east-1) for `alias` and returns its ARN once ISSUED:
/// an ISSUED certificate covering it is reused, else a pending one is waited for, else one is
/// requested with DNS validation. Its validation records are printed through `say`, or with `zone`
/// (`--route53-zone`: a hosted zone id or name) written into Route 53. Waits [`Wait::default`].
pub fn ensure_certificate(
    aws: &Aws,
    alias: &str,
    zone: Option<&str>,
    say: &mut dyn FnMut(&str),
) -> Result<String> {
    ensure_certificate_with(aws, alias, zone, &Wait::default(), say)
}

/// [`ensure_certificate`] with its waiting made explicit (tests wait briefly).
pub fn ensure_certificate_with(
    aws: &Aws,
    alias: &str,
    zone: Option<&str>,
    wait: &Wait,
    say: &mut dyn FnMut(&str),
) -> Result<String> {
    let alias = validate_alias(alias)?;
    // The zone first: a wrong --route53-zone should fail before anything is requested.
    let zone = zone
        .map(|z| pick_zone(&list_zones(aws)?, z, &alias))
        .transpose()?;
    say(&format!(
        "looking for an ACM certificate in {ACM_REGION} that covers {alias}"
    ));
    let arn = match find_existing(aws, &alias)? {
        Some(c) => {
            say(&format!(
                "reusing certificate {} ({}, names {})",
                c.certificate_arn,
                c.status,
                c.names().join(", ")
            ));
            c.certificate_arn
        }
        None => {
            if alias.len() > 64 {
                bail!("{alias} is longer than the 64 characters a certificate's first name may have: request a certificate with a shorter first name and {alias} as another name (aws acm request-certificate --region {ACM_REGION} --domain-name SHORT --subject-alternative-names {alias} --validation-method DNS), then pass its ARN with --certificate");
            }
            let token = idempotency_token(&alias);
            let v = aws.call(
                ACM_REGION,
                &[
                    "acm",
                    "request-certificate",
                    "--domain-name",
                    &alias,
                    "--validation-method",
                    "DNS",
                    "--idempotency-token",
                    &token,
                ],
            )?;
            let arn = v
                .get("CertificateArn")
                .and_then(Value::as_str)
                .context("acm request-certificate answered without a CertificateArn")?
                .to_owned();
            say(&format!(
                "requested certificate {arn} for {alias} (DNS validation)"
            ));
            arn
        }
    };
    await_issued(aws, &arn, &alias, zone.as_ref(), wait, say)?;
    Ok(arn)
}

/// Checks a certificate given with `--certificate` for `alias`: in us-east-1, covering the alias,
/// ISSUED (one still pending validation is waited for, its records printed). Returns the ARN.
pub fn check_certificate(
    aws: &Aws,
    arn: &str,
    alias: &str,
    say: &mut dyn FnMut(&str),
) -> Result<String> {
    check_certificate_with(aws, arn, alias, &Wait::default(), say)
}

/// [`check_certificate`] with its waiting made explicit.
pub fn check_certificate_with(
    aws: &Aws,
    arn: &str,
    alias: &str,
    wait: &Wait,
    say: &mut dyn FnMut(&str),
) -> Result<String> {
    let alias = validate_alias(alias)?;
    match arn_region(arn) {
        None => bail!("{arn} is not an ACM certificate ARN (arn:aws:acm:us-east-1:ACCOUNT:certificate/ID)"),
        Some(r) if r != ACM_REGION => bail!(
            "certificate {arn} is in {r}, but CloudFront uses ACM certificates from {ACM_REGION} only: request (or import) one there — or drop --certificate and deploy requests it for you"
        ),
        Some(_) => {}
    }
    let Some(c) = describe(aws, arn)? else {
        bail!("no certificate {arn} in {ACM_REGION} (aws acm list-certificates --region {ACM_REGION} lists yours)");
    };
    if !covers(&c.names(), &alias) {
        bail!(
            "certificate {arn} covers {}, not {alias}: CloudFront refuses an alias its certificate does not cover; pass one that does, or drop --certificate",
            c.names().join(", ")
        );
    }
    if c.status == "ISSUED" {
        say(&format!(
            "using certificate {arn} (ISSUED, names {})",
            c.names().join(", ")
        ));
        return Ok(arn.to_owned());
    }
    await_issued(aws, arn, &alias, None, wait, say)?;
    Ok(arn.to_owned())
}

/// Points `alias` at the distribution once the stack exists: with `zone` (`--route53-zone`: id or
/// name), UPSERTs alias A and AAAA records into it and waits for INSYNC; without, says which CNAME to
/// add. A CNAME already there for the alias is refused (Route 53 allows no other record beside it),
/// unless it already leads to the distribution.
pub fn point_alias(
    aws: &Aws,
    zone: Option<&str>,
    alias: &str,
    distribution_domain: &str,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    point_alias_with(aws, zone, alias, distribution_domain, &Wait::default(), say)
}

/// [`point_alias`] with its waiting made explicit.
pub fn point_alias_with(
    aws: &Aws,
    zone: Option<&str>,
    alias: &str,
    distribution_domain: &str,
    wait: &Wait,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let alias = validate_alias(alias)?;
    let target = norm(distribution_domain);
    let Some(zone) = zone else {
        say(&format!(
            "add this DNS record at your DNS provider: {alias} CNAME {target} (at a zone apex, your provider's ALIAS/ANAME record); `scalefront doctor` checks that it resolves"
        ));
        return Ok(());
    };
    let zone = pick_zone(&list_zones(aws)?, zone, &alias)?;
    for existing in records_named(aws, &zone, &alias)? {
        let kind = existing.get("Type").and_then(Value::as_str).unwrap_or("");
        let alias_to = existing
            .pointer("/AliasTarget/DNSName")
            .and_then(Value::as_str)
            .map(norm);
        let values: Vec<String> = existing
            .get("ResourceRecords")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("Value").and_then(Value::as_str))
            .map(norm)
            .collect();
        match kind {
            "CNAME" if values.contains(&target) => {
                say(&format!(
                    "{alias} is already a CNAME to {target} in zone {}: nothing to change",
                    zone.name
                ));
                return Ok(());
            }
            "CNAME" => bail!(
                "{alias} is a CNAME to {} in hosted zone {}; Route 53 allows no alias record beside a CNAME: delete it (or point it to {target}) and deploy again",
                values.join(", "),
                zone.id
            ),
            "A" | "AAAA" if alias_to.as_deref() != Some(target.as_str()) => say(&format!(
                "replacing {alias} {kind} ({}) in zone {} with an alias to {target}",
                alias_to.unwrap_or_else(|| values.join(", ")),
                zone.name
            )),
            _ => {}
        }
    }
    change(aws, &zone, &alias_change_batch(&alias, &target), wait, say)?;
    say(&format!(
        "{alias} → {target}: alias A and AAAA records in Route 53 hosted zone {} ({})",
        zone.id, zone.name
    ));
    Ok(())
}

/// The record sets of `zone` named exactly `name` (any type).
pub fn records_named(aws: &Aws, zone: &Zone, name: &str) -> Result<Vec<Value>> {
    let start = norm(name);
    let v = aws.call(
        ROUTE53_REGION,
        &[
            "route53",
            "list-resource-record-sets",
            "--hosted-zone-id",
            &zone.id,
            "--start-record-name",
            &start,
            "--max-items",
            "10",
        ],
    )?;
    Ok(v.get("ResourceRecordSets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            r.get("Name")
                .and_then(Value::as_str)
                .is_some_and(|n| norm(n) == start)
        })
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_cloudfront_accepts() {
        assert_eq!(
            validate_alias("images.example.com").unwrap(),
            "images.example.com"
        );
        assert_eq!(
            validate_alias(" Images.Example.COM. ").unwrap(),
            "images.example.com"
        );
        assert_eq!(validate_alias("*.example.com").unwrap(), "*.example.com");
        assert_eq!(validate_alias("example.com").unwrap(), "example.com");
        assert_eq!(
            validate_alias("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(validate_alias("a-1.b2.co.uk").unwrap(), "a-1.b2.co.uk");
        let long_label = "a".repeat(63);
        assert!(validate_alias(&format!("{long_label}.example.com")).is_ok());
    }

    #[test]
    fn aliases_cloudfront_refuses() {
        use AliasError::*;
        let err = |s: &str| validate_alias(s).unwrap_err();
        assert_eq!(err(""), Empty);
        assert!(matches!(err("https://images.example.com"), NotAHost(_)));
        assert!(matches!(err("images.example.com/photos"), NotAHost(_)));
        assert!(matches!(err("images.example.com:443"), NotAHost(_)));
        assert!(matches!(err("bücher.example"), NotAscii(_)));
        assert!(matches!(err("localhost"), OneLabel(_)));
        assert!(matches!(err("*.com"), OneLabel(_)));
        assert!(matches!(err("192.168.0.1"), IpAddress(_)));
        assert!(matches!(err("*images.example.com"), BadWildcard(_)));
        assert!(matches!(err("images.*.example.com"), BadWildcard(_)));
        assert!(matches!(err("*.*.example.com"), BadWildcard(_)));
        assert!(matches!(err("images..example.com"), BadLabel { .. }));
        assert!(matches!(err("-images.example.com"), BadLabel { .. }));
        assert!(matches!(err("images-.example.com"), BadLabel { .. }));
        assert!(matches!(err("im_ages.example.com"), BadLabel { .. }));
        assert!(matches!(err("images.example.123"), BadLabel { .. }));
        assert!(matches!(
            err(&format!("{}.example.com", "a".repeat(64))),
            BadLabel { .. }
        ));
        let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(matches!(err(&long), TooLong { .. }));
        // The messages say what to do.
        assert!(err("https://images.example.com")
            .to_string()
            .contains("host name alone"));
        assert!(err("images.*.example.com").to_string().contains("leftmost"));
    }

    #[test]
    fn coverage_follows_acm_and_cloudfront() {
        assert!(covers(&["images.example.com"], "images.example.com"));
        assert!(covers(&["IMAGES.example.com."], "images.Example.com"));
        assert!(covers(&["*.example.com"], "images.example.com"));
        assert!(covers(&["*.EXAMPLE.com"], "Images.example.com"));
        assert!(covers(&["*.example.com"], "*.example.com"));
        assert!(covers(&["\\052.example.com."], "images.example.com"));
        // One level only, and not the parent itself.
        assert!(!covers(&["*.example.com"], "a.images.example.com"));
        assert!(!covers(&["*.example.com"], "example.com"));
        assert!(!covers(&["*.example.com"], "*.images.example.com"));
        assert!(!covers(&["example.com"], "images.example.com"));
        assert!(!covers(&["example.com"], "*.example.com"));
        assert!(!covers(&["images.example.com"], "*.example.com"));
        assert!(!covers(&["images.example.co"], "images.example.com"));
        assert!(!covers::<&str>(&[], "images.example.com"));
        assert!(covers(
            &["www.example.com", "*.example.com"],
            "images.example.com"
        ));
    }

    fn cert(json: Value) -> Certificate {
        serde_json::from_value::<DescribeCertificate>(json)
            .unwrap()
            .certificate
    }

    fn pending() -> Certificate {
        cert(json!({"Certificate": {
            "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/1111",
            "DomainName": "example.com",
            "SubjectAlternativeNames": ["example.com", "*.example.com"],
            "Status": "PENDING_VALIDATION",
            "Type": "AMAZON_ISSUED",
            "DomainValidationOptions": [
                {"DomainName": "example.com", "ValidationDomain": "example.com", "ValidationStatus": "PENDING_VALIDATION", "ValidationMethod": "DNS",
                 "ResourceRecord": {"Name": "_a79865eb4cd1a6ab990a45779b4e0b96.example.com.", "Type": "CNAME", "Value": "_424c7224e9b0146f9a8808af955727d0.acm-validations.aws."}},
                {"DomainName": "*.example.com", "ValidationDomain": "*.example.com", "ValidationStatus": "PENDING_VALIDATION", "ValidationMethod": "DNS",
                 "ResourceRecord": {"Name": "_a79865eb4cd1a6ab990a45779b4e0b96.example.com.", "Type": "CNAME", "Value": "_424c7224e9b0146f9a8808af955727d0.acm-validations.aws."}}
            ]
        }}))
    }

    #[test]
    fn validation_records_from_describe_certificate() {
        let c = pending();
        assert_eq!(c.region(), Some("us-east-1"));
        assert_eq!(c.names(), ["example.com", "*.example.com"]);
        let r = validation_records(&c);
        // A name and its wildcard share one record.
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].name, "_a79865eb4cd1a6ab990a45779b4e0b96.example.com.");
        assert_eq!(r[0].kind, "CNAME");
        assert_eq!(
            r[0].value,
            "_424c7224e9b0146f9a8808af955727d0.acm-validations.aws."
        );
        assert_eq!(r[0].status, "PENDING_VALIDATION");
        assert!(records_complete(&c));
        // Just after the request: no records yet.
        let fresh = cert(
            json!({"Certificate": {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/2", "DomainName": "images.example.com", "Status": "PENDING_VALIDATION",
            "DomainValidationOptions": [{"DomainName": "images.example.com", "ValidationStatus": "PENDING_VALIDATION", "ValidationMethod": "DNS"}]}}),
        );
        assert!(validation_records(&fresh).is_empty());
        assert!(!records_complete(&fresh));
        let batch = validation_change_batch(&r);
        assert_eq!(
            batch["Changes"][0],
            json!({"Action": "UPSERT", "ResourceRecordSet": {"Name": "_a79865eb4cd1a6ab990a45779b4e0b96.example.com.", "Type": "CNAME", "TTL": 300,
                "ResourceRecords": [{"Value": "_424c7224e9b0146f9a8808af955727d0.acm-validations.aws."}]}})
        );
        assert_eq!(batch["Changes"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn alias_records_name_cloudfronts_zone() {
        let b = alias_change_batch("images.example.com", "d111111abcdef8.cloudfront.net.");
        let changes = b["Changes"].as_array().unwrap();
        assert_eq!(changes.len(), 2);
        for (c, t) in changes.iter().zip(["A", "AAAA"]) {
            assert_eq!(c["Action"], "UPSERT");
            assert_eq!(c["ResourceRecordSet"]["Name"], "images.example.com");
            assert_eq!(c["ResourceRecordSet"]["Type"], t);
            assert_eq!(
                c["ResourceRecordSet"]["AliasTarget"],
                json!({"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d111111abcdef8.cloudfront.net", "EvaluateTargetHealth": false})
            );
            assert!(c["ResourceRecordSet"].get("TTL").is_none());
        }
    }

    fn zones() -> Value {
        json!({"HostedZones": [
            {"Id": "/hostedzone/Z0COM", "Name": "example.com.", "Config": {"PrivateZone": false}, "ResourceRecordSetCount": 4},
            {"Id": "/hostedzone/Z0INTERNAL", "Name": "images.example.com.", "Config": {"PrivateZone": true}},
            {"Id": "/hostedzone/Z0SHOP", "Name": "shop.example.com.", "Config": {"PrivateZone": false}},
            {"Id": "/hostedzone/Z0ORG", "Name": "example.org.", "Config": {"PrivateZone": false}},
            {"Id": "/hostedzone/Z0ORG2", "Name": "example.org.", "Config": {"PrivateZone": false}}
        ], "IsTruncated": false, "MaxItems": "100"})
    }

    #[test]
    fn picks_the_hosted_zone() {
        let z = zone_for(&zones(), "images.example.com").unwrap();
        // The private zone of the very name is skipped: viewers ask the public DNS.
        assert_eq!((z.id.as_str(), z.name.as_str()), ("Z0COM", "example.com"));
        assert_eq!(
            zone_for(&zones(), "a.shop.example.com.").unwrap().id,
            "Z0SHOP"
        );
        assert_eq!(zone_for(&zones(), "shop.example.com").unwrap().id, "Z0SHOP");
        assert_eq!(zone_for(&zones(), "*.example.com").unwrap().id, "Z0COM");
        assert!(zone_for(&zones(), "images.example.net").is_none());
        assert!(zone_for(&zones(), "badexample.com").is_none());
        // --route53-zone by id or by name.
        assert_eq!(
            pick_zone(&zones(), "Z0COM", "images.example.com")
                .unwrap()
                .name,
            "example.com"
        );
        assert_eq!(
            pick_zone(&zones(), "/hostedzone/Z0COM", "images.example.com")
                .unwrap()
                .id,
            "Z0COM"
        );
        assert_eq!(
            pick_zone(&zones(), "Example.com.", "images.example.com")
                .unwrap()
                .id,
            "Z0COM"
        );
        let e = pick_zone(&zones(), "Z0SHOP", "images.example.com")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in hosted zone Z0SHOP"), "{e}");
        let e = pick_zone(&zones(), "example.net", "images.example.net")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no public Route 53 hosted zone example.net"),
            "{e}"
        );
        let e = pick_zone(&zones(), "example.org", "images.example.org")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Z0ORG, Z0ORG2"), "{e}");
        assert_eq!(
            pick_zone(&zones(), "Z0ORG2", "images.example.org")
                .unwrap()
                .id,
            "Z0ORG2"
        );
        let e = pick_zone(&zones(), "Z0INTERNAL", "images.example.com")
            .unwrap_err()
            .to_string();
        assert!(e.contains("private zones"), "{e}");
    }

    #[test]
    fn chooses_issued_then_pending() {
        let mut issued = pending();
        issued.status = "ISSUED".into();
        issued.certificate_arn = "arn:aws:acm:us-east-1:1:certificate/issued".into();
        let mut elsewhere = issued.clone();
        elsewhere.certificate_arn = "arn:aws:acm:eu-west-1:1:certificate/eu".into();
        let mut other = issued.clone();
        other.domain_name = "www.example.org".into();
        other.subject_alternative_names = vec!["www.example.org".into()];
        let p = pending();
        let all = [p.clone(), other.clone(), issued.clone()];
        assert_eq!(
            choose(&all, "images.example.com").unwrap().certificate_arn,
            issued.certificate_arn
        );
        let some = [other.clone(), p.clone()];
        assert_eq!(
            choose(&some, "images.example.com").unwrap().status,
            "PENDING_VALIDATION"
        );
        assert!(choose(&[other, elsewhere], "images.example.com").is_none());
        assert!(choose(&all, "a.images.example.com").is_none());
    }

    #[test]
    fn tokens_and_arns() {
        let t = idempotency_token("images.example.com");
        assert_eq!(t.len(), 32);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(t, idempotency_token("Images.Example.com."));
        assert_ne!(t, idempotency_token("img.example.com"));
        assert_eq!(
            arn_region("arn:aws:acm:eu-west-1:123456789012:certificate/abc"),
            Some("eu-west-1")
        );
        assert_eq!(
            arn_region("arn:aws:iam::123456789012:server-certificate/x"),
            None
        );
        assert_eq!(arn_region("nonsense"), None);
    }

    #[test]
    fn dry_run_texts() {
        let t = describe_certificate("images.example.com", None, Some("Z0COM"));
        assert!(
            t.contains(
                "request-certificate --domain-name images.example.com --validation-method DNS"
            ),
            "{t}"
        );
        assert!(t.contains("hosted zone Z0COM"), "{t}");
        assert!(t.contains("30 min"), "{t}");
        let t = describe_certificate("images.example.com", None, None);
        assert!(t.contains("for you to add"), "{t}");
        let t = describe_certificate(
            "images.example.com",
            Some("arn:aws:acm:us-east-1:1:certificate/x"),
            None,
        );
        assert!(
            t.contains("use arn:aws:acm:us-east-1:1:certificate/x"),
            "{t}"
        );
        let t = describe_point_alias("images.example.com", Some("Z0COM"), None);
        assert!(
            t.contains("Z2FDTNDATAQYW2") && t.contains("A and AAAA"),
            "{t}"
        );
        let t = describe_point_alias("images.example.com", None, Some("d1.cloudfront.net"));
        assert!(
            t.contains("images.example.com CNAME d1.cloudfront.net"),
            "{t}"
        );
    }
}
