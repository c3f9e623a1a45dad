//! The doctor's checks: pure functions over [`Facts`], one line each: ok, a warning (works today,
//! will not for long or not under load) or a failure, the last two with the fix. Each check exists
//! because a real setup broke that way (docs/platform.md §5, issue 5).
use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::facts::*;
use crate::policy::{self, Statement};
use crate::runtime::{self, Date, Verdict, EDGE_RUNTIME};

/// Every check, with what it guards against. The fixture tests require a broken setup for each.
pub const CHECKS: &[(&str, &str)] = &[
    ("distribution", "the distribution is enabled and deployed"),
    (
        "resizer",
        "something makes missing variants (origin-response Lambda@Edge or a function URL failover)",
    ),
    (
        "function-region",
        "the Lambda@Edge function lives in us-east-1",
    ),
    (
        "association-version",
        "associations name a numbered version, not $LATEST or an alias",
    ),
    (
        "edge-runtime",
        "the runtime is one Lambda@Edge accepts (Node.js/Python, zip package); warns when Lambda deprecates it within 180 days or has",
    ),
    (
        "edge-arch",
        "the function is x86_64 (Lambda@Edge has no arm64)",
    ),
    (
        "edge-env",
        "the function has no environment variables (Lambda@Edge refuses them)",
    ),
    (
        "event-type",
        "the resize function runs on origin-response and the viewer function on viewer-request",
    ),
    (
        "role-trust",
        "the execution role trusts lambda.amazonaws.com and edgelambda.amazonaws.com",
    ),
    (
        "origin-access",
        "CloudFront reaches the bucket (and the function URL) through Origin Access Control",
    ),
    (
        "bucket-policy",
        "the bucket policy lets this distribution's OAC/OAI principal read",
    ),
    (
        "list-bucket",
        "the function's role may s3:ListBucket, so a missing original is 404, not 403",
    ),
    (
        "write-scope",
        "the function's role may write under the variant prefix only, never over originals",
    ),
    (
        "viewer-function",
        "a published cloudfront-js-2.0 viewer-request function moves the query into the path",
    ),
    (
        "cache-key",
        "the cache key holds what the setup needs and no headers or cookies",
    ),
    (
        "failover",
        "regional: the origin group fails over from S3 to the function URL on 403 and 404",
    ),
    (
        "url-permissions",
        "regional: CloudFront may lambda:InvokeFunctionUrl and lambda:InvokeFunction",
    ),
    (
        "invocations",
        "the function ran recently (invocation metrics in the edge regions)",
    ),
    (
        "logs",
        "where the function's logs are (the regions near the edges that ran it)",
    ),
    (
        "certificate",
        "with aliases: the ACM certificate is ISSUED and in us-east-1 (the only region CloudFront reads)",
    ),
    (
        "certificate-names",
        "with aliases: the certificate covers every alias (a wildcard covers one level)",
    ),
    (
        "viewer-tls",
        "with aliases: SNI (sni-only) and security policy TLSv1.2_2021 or stricter",
    ),
    (
        "alias-dns",
        "with aliases: each alias resolves to this distribution (a CNAME, a Route 53 alias, or its addresses)",
    ),
    (
        "log-retention",
        "the function's log groups expire (warns on groups kept forever)",
    ),
    (
        "concurrency",
        "the Lambda concurrency quota where the function runs covers a page of new photos (warns below it)",
    ),
    (
        "signing-keys",
        "signed URLs: the viewer function reads a KeyValueStore holding scalefront-a, -b and -o",
    ),
    (
        "purge-function",
        "the purge function next to the bucket exists, runs the purge handler and invalidates this distribution; warns when there is no automatic purge at all",
    ),
    (
        "purge-permissions",
        "the purge's role may delete under the variant prefix only, write no original, and invalidate this distribution only (warns on every distribution)",
    ),
    (
        "purge-events",
        "the bucket sends its events to EventBridge; the rule is enabled, matches its originals created and deleted, leaves out the variant prefix (warns), and may invoke the purge function",
    ),
];

/// One report line. Three states: ok (`ok`, not `warn`), a warning (`ok` and `warn`: the exit status
/// stays 0) and a failure (not `ok`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub check: &'static str,
    /// Not a failure (a warning is ok).
    pub ok: bool,
    /// A warning: works now, but not for long or not under load.
    pub warn: bool,
    /// What was found, in one phrase.
    pub message: String,
    /// What to do (empty when ok without a warning).
    pub fix: String,
}

pub(super) fn pass(check: &'static str, message: impl Into<String>) -> Line {
    Line {
        check,
        ok: true,
        warn: false,
        message: message.into(),
        fix: String::new(),
    }
}
pub(super) fn fail(
    check: &'static str,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Line {
    Line {
        check,
        ok: false,
        warn: false,
        message: message.into(),
        fix: fix.into(),
    }
}
pub(super) fn warn(
    check: &'static str,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Line {
    Line {
        check,
        ok: true,
        warn: true,
        message: message.into(),
        fix: fix.into(),
    }
}

/// Runs every check that applies to this setup.
pub fn run(f: &Facts) -> Vec<Line> {
    let mut out = Vec::new();
    for e in &f.errors {
        out.push(fail("collect", e.clone(), "grant the permission named (read-only: see README, Deploy to AWS) and run doctor again"));
    }
    let d = &f.distribution.distribution;
    let edge = edge_associations(f);
    let url_origins: Vec<&Origin> = d
        .distribution_config
        .origins
        .items
        .iter()
        .filter(|o| lambda_url_region(&o.domain_name).is_some())
        .collect();

    out.push(distribution(d));
    if edge.is_empty() && url_origins.is_empty() {
        out.push(fail("resizer", "no origin-response Lambda@Edge and no Lambda function URL origin: nothing makes missing variants", "deploy with `scalefront deploy` (edge or regional mode)"));
    } else {
        out.push(pass(
            "resizer",
            if edge.is_empty() {
                "regional: a Lambda function URL behind an origin group"
            } else {
                "edge: an origin-response Lambda@Edge"
            },
        ));
    }
    for (behaviour, a) in &edge {
        out.extend(edge_function(f, behaviour, a));
    }
    out.extend(viewer_functions(f));
    out.extend(origin_access(f));
    out.extend(bucket_policy(f));
    out.extend(role_s3(f));
    out.extend(cache_key(f));
    if !url_origins.is_empty() {
        out.extend(failover(f, &url_origins));
    }
    out.extend(activity(f));
    out.extend(super::domain::checks(f));
    out.extend(log_retention(f));
    out.extend(concurrency(f));
    out.extend(signing_keys(f));
    out.extend(super::purge::checks(f));
    out
}

fn behaviours(d: &Distribution) -> Vec<&CacheBehavior> {
    std::iter::once(&d.distribution_config.default_cache_behavior)
        .chain(d.distribution_config.cache_behaviors.items.iter())
        .collect()
}

fn edge_associations(f: &Facts) -> Vec<(String, &LambdaAssociation)> {
    behaviours(&f.distribution.distribution)
        .into_iter()
        .flat_map(|b| {
            b.lambda_function_associations
                .items
                .iter()
                .map(move |a| (b.name(), a))
        })
        .collect()
}

fn distribution(d: &Distribution) -> Line {
    if !d.distribution_config.enabled {
        fail("distribution", format!("{} is disabled", d.id), format!("enable it: aws cloudfront get-distribution-config --id {} …, set Enabled true, update-distribution", d.id))
    } else if d.status != "Deployed" {
        fail(
            "distribution",
            format!(
                "{} is {} (changes still propagating to the edges)",
                d.id, d.status
            ),
            "wait until it says Deployed (usually 3-10 minutes) and run doctor again",
        )
    } else {
        pass(
            "distribution",
            format!("{} enabled and deployed at {}", d.id, d.domain_name),
        )
    }
}

fn edge_function(f: &Facts, behaviour: &str, a: &LambdaAssociation) -> Vec<Line> {
    let mut out = Vec::new();
    let Some(arn) = LambdaArn::parse(&a.arn) else {
        out.push(fail(
            "association-version",
            format!("{behaviour}: {} is not a Lambda function ARN", a.arn),
            "associate the function's numbered version ARN",
        ));
        return out;
    };
    let short = format!(
        "{}:{}",
        arn.name,
        arn.qualifier.as_deref().unwrap_or("(none)")
    );
    out.push(if arn.region == "us-east-1" {
        pass("function-region", format!("{short} is in us-east-1"))
    } else {
        fail(
            "function-region",
            format!(
                "{short} is in {}; Lambda@Edge functions must be created in us-east-1",
                arn.region
            ),
            "create the function in us-east-1 (`scalefront deploy` does) and associate that one",
        )
    });
    out.push(match arn.qualifier.as_deref() {
        Some(q) if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) => pass(
            "association-version",
            format!("{behaviour} uses numbered version {short}"),
        ),
        Some("$LATEST") => fail(
            "association-version",
            format!("{behaviour} associates {short}: CloudFront refuses $LATEST"),
            "publish a version (aws lambda publish-version) and associate its numbered ARN",
        ),
        Some(q) => fail(
            "association-version",
            format!(
                "{behaviour} associates alias {q} of {}: Lambda@Edge needs a numbered version",
                arn.name
            ),
            "associate the numbered version ARN the alias points to",
        ),
        None => fail(
            "association-version",
            format!("{behaviour} associates {} without a version", arn.name),
            "append the version number (…:function:NAME:N) to the association ARN",
        ),
    });
    out.push(if a.event_type == "origin-response" {
        pass(
            "event-type",
            format!("{} runs on origin-response", arn.name),
        )
    } else {
        fail(
            "event-type",
            format!(
                "{} runs on {}; it must see S3's answer (403/404 for a missing variant)",
                arn.name, a.event_type
            ),
            "associate it with event type origin-response",
        )
    });
    let Some(lf) = f.lambdas.get(&a.arn) else {
        out.push(fail(
            "edge-runtime",
            format!("{short}: its configuration was not collected"),
            "check that the version exists in us-east-1",
        ));
        return out;
    };
    let Some(c) = &lf.configuration else {
        out.push(fail(
            "edge-runtime",
            format!("{short} does not exist (or cannot be read)"),
            "deploy again, or associate an existing version",
        ));
        return out;
    };
    out.push(edge_runtime(f, &short, c));
    let arch = if c.architectures.is_empty() {
        vec!["x86_64".to_owned()]
    } else {
        c.architectures.clone()
    };
    out.push(if arch == ["x86_64"] {
        pass("edge-arch", format!("{short} is x86_64"))
    } else {
        fail(
            "edge-arch",
            format!(
                "{short} is {}; Lambda@Edge runs x86_64 only",
                arch.join(",")
            ),
            "recreate the function with Architectures x86_64",
        )
    });
    let env: Vec<&String> = c
        .environment
        .as_ref()
        .map(|e| e.variables.keys().collect())
        .unwrap_or_default();
    out.push(if env.is_empty() {
        pass("edge-env", format!("{short} has no environment variables"))
    } else {
        fail(
            "edge-env",
            format!(
                "{short} has environment variables ({}); Lambda@Edge refuses them",
                env.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "remove them and bake the values into the package (scalefront package does)",
        )
    });
    match &lf.role {
        None => out.push(fail(
            "role-trust",
            format!("{short}: role {} could not be read", c.role),
            "grant iam:GetRole to run this check",
        )),
        Some(r) => {
            let trust = policy::statements(&r.get_role.role.assume_role_policy_document);
            let trusts = |svc: &str| {
                trust.iter().any(|s| {
                    s.allow && s.covers_action("sts:AssumeRole") && s.has_principal("Service", svc)
                })
            };
            let missing: Vec<&str> = ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]
                .into_iter()
                .filter(|s| !trusts(s))
                .collect();
            out.push(if missing.is_empty() {
                pass("role-trust", format!("role {} trusts lambda and edgelambda", r.get_role.role.role_name))
            } else {
                fail("role-trust", format!("role {} does not trust {}", r.get_role.role.role_name, missing.join(" or ")), format!("add {} to the role's trust policy Principal.Service (aws iam update-assume-role-policy)", missing.join(" and ")))
            });
        }
    }
    out
}

fn viewer_functions(f: &Facts) -> Vec<Line> {
    let mut out = Vec::new();
    let d = &f.distribution.distribution;
    for b in behaviours(d) {
        let assoc = &b.function_associations.items;
        if assoc.is_empty() {
            out.push(fail("viewer-function", format!("{}: no CloudFront Function on viewer-request, so ?w=… never becomes part of the path", b.name()), "associate scalefront's viewer-request function (scalefront deploy does)"));
            continue;
        }
        for a in assoc {
            let name = a.arn.rsplit('/').next().unwrap_or(&a.arn).to_owned();
            if a.event_type != "viewer-request" {
                out.push(fail("event-type", format!("CloudFront Function {name} runs on {}; the rewrite must run on viewer-request, before the cache lookup", a.event_type), "associate it with event type viewer-request"));
                continue;
            }
            out.push(pass(
                "event-type",
                format!("CloudFront Function {name} runs on viewer-request"),
            ));
            out.push(match f.viewer_functions.get(&a.arn) {
                None => fail("viewer-function", format!("{name} could not be read"), "grant cloudfront:DescribeFunction to run this check"),
                Some(None) => fail("viewer-function", format!("{name} has no LIVE stage: it was never published"), format!("aws cloudfront publish-function --name {name} --if-match ETAG (or AutoPublish: true)")),
                Some(Some(df)) if df.function_summary.function_config.runtime != "cloudfront-js-2.0" => fail("viewer-function", format!("{name} runs {}; scalefront's code needs cloudfront-js-2.0", df.function_summary.function_config.runtime), "update the function with Runtime cloudfront-js-2.0"),
                Some(Some(_)) => pass("viewer-function", format!("{name} is published (LIVE, cloudfront-js-2.0) on viewer-request")),
            });
        }
    }
    out
}

fn s3_origins(d: &Distribution) -> Vec<(&Origin, &str)> {
    d.distribution_config
        .origins
        .items
        .iter()
        .filter_map(|o| s3_origin_bucket(&o.domain_name).map(|b| (o, b)))
        .collect()
}

fn origin_access(f: &Facts) -> Vec<Line> {
    let d = &f.distribution.distribution;
    let mut out = Vec::new();
    for o in &d.distribution_config.origins.items {
        let want = if s3_origin_bucket(&o.domain_name).is_some() {
            "s3"
        } else if lambda_url_region(&o.domain_name).is_some() {
            "lambda"
        } else {
            continue;
        };
        let oai = o
            .s3_origin_config
            .as_ref()
            .map(|c| c.origin_access_identity.as_str())
            .unwrap_or("");
        let oac = o
            .origin_access_control_id
            .as_deref()
            .filter(|s| !s.is_empty());
        out.push(match (oac.map(|id| f.origin_access_controls.get(id)), oai) {
            (Some(Some(c)), _) => {
                let c = &c.origin_access_control.origin_access_control_config;
                if c.origin_access_control_origin_type == want && c.signing_behavior == "always" {
                    pass("origin-access", format!("origin {} is signed by OAC {} ({want}, always)", o.id, c.name))
                } else {
                    fail("origin-access", format!("origin {}: OAC {} is for {} and signs {}", o.id, c.name, c.origin_access_control_origin_type, c.signing_behavior), format!("use an OAC of type {want} with SigningBehavior always"))
                }
            }
            (Some(None), _) => fail("origin-access", format!("origin {}: its OAC {} could not be read", o.id, oac.unwrap_or_default()), "grant cloudfront:GetOriginAccessControl to run this check"),
            (None, oai) if !oai.is_empty() && want == "s3" => pass("origin-access", format!("origin {} uses the legacy OAI {oai} (works; OAC is the current way)", o.id)),
            (None, _) if want == "lambda" => fail("origin-access", format!("origin {} (function URL) has no OAC: the URL must be public for CloudFront to call it", o.id), "attach an OAC of type lambda and set the URL's AuthType to AWS_IAM"),
            (None, _) => fail("origin-access", format!("origin {} has no OAC or OAI: the bucket must be public for CloudFront to read it", o.id), "attach an Origin Access Control (type s3) and grant it read in the bucket policy (scalefront deploy does)"),
        });
    }
    out
}

fn bucket_policy(f: &Facts) -> Vec<Line> {
    let d = &f.distribution.distribution;
    let mut out = Vec::new();
    for (o, bucket) in s3_origins(d) {
        let object = format!("arn:aws:s3:::{bucket}/scalefront-doctor-probe.jpg");
        let oai = o
            .s3_origin_config
            .as_ref()
            .map(|c| {
                c.origin_access_identity
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .unwrap_or_default();
        let uses_oac = o
            .origin_access_control_id
            .as_deref()
            .is_some_and(|s| !s.is_empty());
        let Some(b) = f.buckets.get(bucket) else {
            out.push(fail(
                "bucket-policy",
                format!("bucket {bucket} could not be read"),
                "grant s3:GetBucketPolicy to run this check",
            ));
            continue;
        };
        let Some(doc) = b.policy.as_ref().and_then(|p| p.get("Policy")) else {
            out.push(fail("bucket-policy", format!("bucket {bucket} has no policy: CloudFront's reads are denied (403 for every photo)"), oac_fix(bucket, d)));
            continue;
        };
        let stmts = policy::statements(doc);
        let reads: Vec<&Statement> = stmts
            .iter()
            .filter(|s| s.allow && s.covers_action("s3:GetObject") && s.covers_resource(&object))
            .collect();
        let by_oac = reads
            .iter()
            .find(|s| s.has_principal("Service", "cloudfront.amazonaws.com"));
        let by_oai = reads
            .iter()
            .find(|s| !oai.is_empty() && s.principals.iter().any(|(_, v)| v.ends_with(&oai)));
        // CloudFront without s3:ListBucket sees 403 for a key not there yet: fine for scalefront (its
        // function and the failover treat 403 like 404), fatal for a function that waits for 404.
        let lists = stmts.iter().any(|s| {
            s.allow
                && s.covers_action("s3:ListBucket")
                && s.covers_resource(&format!("arn:aws:s3:::{bucket}"))
                && s.has_principal("Service", "cloudfront.amazonaws.com")
        });
        let missing = if lists {
            "404"
        } else {
            "403 (no s3:ListBucket for CloudFront; scalefront treats it like 404)"
        };
        out.push(match (uses_oac, by_oac, by_oai) {
            (true, Some(s), _) if s.source_arns.is_empty() || s.source_arns.iter().any(|a| policy::wildcard(a, &d.arn, false)) => pass("bucket-policy", format!("bucket {bucket} lets this distribution (OAC) read; a variant not made yet reads as {missing}")),
            (true, Some(s), _) => fail("bucket-policy", format!("bucket {bucket} lets cloudfront.amazonaws.com read only for {}, not this distribution {}", s.source_arns.join(", "), d.arn), oac_fix(bucket, d)),
            (true, None, _) => fail("bucket-policy", format!("bucket {bucket}'s policy has no s3:GetObject for the OAC principal cloudfront.amazonaws.com"), oac_fix(bucket, d)),
            (false, _, Some(_)) => pass("bucket-policy", format!("bucket {bucket} lets the OAI {oai} read")),
            (false, _, None) if !oai.is_empty() => fail("bucket-policy", format!("bucket {bucket}'s policy has no s3:GetObject for the OAI {oai}"), format!("allow Principal {{\"AWS\": \"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity {oai}\"}} s3:GetObject on arn:aws:s3:::{bucket}/* (or move to OAC)")),
            (false, _, None) => fail("bucket-policy", format!("bucket {bucket}: no OAC/OAI principal to grant (see origin-access)"), oac_fix(bucket, d)),
        });
    }
    out
}

fn oac_fix(bucket: &str, d: &Distribution) -> String {
    format!(
        "add to the policy of {bucket}: {}",
        json!({"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*"), "Condition": {"StringEquals": {"AWS:SourceArn": d.arn}}})
    )
}

/// What AWS-managed policies allow, for the few a resize role plausibly carries.
fn managed_policy(arn: &str) -> Option<Value> {
    let s = |actions: Value| {
        Some(json!({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    };
    match arn.rsplit('/').next()? {
        "AdministratorAccess" => s(json!("*")),
        "AmazonS3FullAccess" => s(json!(["s3:*", "s3-object-lambda:*"])),
        "AmazonS3ReadOnlyAccess" => s(json!([
            "s3:Get*",
            "s3:List*",
            "s3:Describe*",
            "s3-object-lambda:Get*",
            "s3-object-lambda:List*"
        ])),
        _ => None,
    }
}

pub(super) fn role_statements(r: &RoleFacts) -> Vec<Statement> {
    r.policy_documents
        .iter()
        .chain(
            r.attached_policy_arns
                .iter()
                .filter_map(|a| managed_policy(a))
                .collect::<Vec<_>>()
                .iter(),
        )
        .flat_map(policy::statements)
        .collect()
}

/// The functions that read and write the bucket: every Lambda the facts hold, each once.
pub(super) fn resize_roles(f: &Facts) -> Vec<(&str, &RoleFacts)> {
    let mut seen = BTreeSet::new();
    f.lambdas
        .values()
        .filter_map(|l| {
            Some((
                l.configuration.as_ref()?.function_name.as_str(),
                l.role.as_ref()?,
            ))
        })
        .filter(|(_, r)| seen.insert(r.get_role.role.arn.clone()))
        .collect()
}

fn role_s3(f: &Facts) -> Vec<Line> {
    let mut out = Vec::new();
    let Some((_, bucket)) = s3_origins(&f.distribution.distribution).into_iter().next() else {
        return out;
    };
    for (name, r) in resize_roles(f) {
        let stmts = role_statements(r);
        let role = &r.get_role.role.role_name;
        out.push(if policy::allows(&stmts, "s3:ListBucket", &format!("arn:aws:s3:::{bucket}")) {
            pass("list-bucket", format!("{name}'s role {role} may list {bucket} (a missing original reads as 404)"))
        } else {
            fail("list-bucket", format!("{name}'s role {role} lacks s3:ListBucket on {bucket}: S3 answers 403, not 404, for a missing original"), format!("allow s3:ListBucket on arn:aws:s3:::{bucket} in the role's policy"))
        });
        // A key no variant prefix would hold: writable means originals can be overwritten.
        let original = format!("arn:aws:s3:::{bucket}/photos/scalefront-doctor-probe.jpg");
        let puts = policy::allowed_resources(&stmts, "s3:PutObject");
        out.push(if policy::allows(&stmts, "s3:PutObject", &original) {
            fail("write-scope", format!("{name}'s role {role} may write anywhere in {bucket} ({}): originals can be overwritten", puts.join(", ")), format!("allow s3:PutObject only on arn:aws:s3:::{bucket}/<variant prefix>/*"))
        } else if let Some(scope) = puts.iter().find(|r| r.starts_with(&format!("arn:aws:s3:::{bucket}/"))) {
            pass("write-scope", format!("{name}'s role {role} writes only under {scope}"))
        } else {
            fail("write-scope", format!("{name}'s role {role} may not write to {bucket}: variants are made but never stored"), format!("allow s3:PutObject on arn:aws:s3:::{bucket}/<variant prefix>/*"))
        });
    }
    out
}

/// What a behaviour's cache key holds besides the URI, each part described for the user.
struct CacheKey {
    headers: Vec<String>,
    cookies: Vec<String>,
    query: Option<String>,
    /// A cache policy normalising Accept-Encoding (gzip/br) into the key.
    accept_encoding: bool,
}

fn key_parts(f: &Facts, b: &CacheBehavior) -> Result<CacheKey, String> {
    if let Some(id) = &b.cache_policy_id {
        let p = f
            .cache_policies
            .get(id)
            .ok_or_else(|| format!("cache policy {id} could not be read"))?;
        let k = &p
            .cache_policy
            .cache_policy_config
            .parameters_in_cache_key_and_forwarded_to_origin;
        let headers = match k.headers_config.header_behavior.as_str() {
            "none" => vec![],
            _ => k.headers_config.headers.items.clone(),
        };
        let cookies = match k.cookies_config.cookie_behavior.as_str() {
            "none" => vec![],
            "all" => vec!["all cookies".into()],
            b => vec![format!("{b}: {}", k.cookies_config.cookies.items.join(","))],
        };
        let qs = match k.query_strings_config.query_string_behavior.as_str() {
            "none" => None,
            "all" => Some("all query strings".into()),
            b => Some(format!(
                "{b}: {}",
                k.query_strings_config.query_strings.items.join(",")
            )),
        };
        Ok(CacheKey {
            headers,
            cookies,
            query: qs,
            accept_encoding: k.enable_accept_encoding_gzip || k.enable_accept_encoding_brotli,
        })
    } else if let Some(fv) = &b.forwarded_values {
        let cookies = match fv
            .cookies
            .as_ref()
            .and_then(|c| c.get("Forward"))
            .and_then(Value::as_str)
        {
            None | Some("none") => vec![],
            Some(x) => vec![x.to_owned()],
        };
        let qs = fv.query_string.then(|| {
            if fv.query_string_cache_keys.items.is_empty() {
                "all query strings".to_owned()
            } else {
                fv.query_string_cache_keys.items.join(",")
            }
        });
        Ok(CacheKey {
            // Legacy settings key on Accept-Encoding only when it is listed as a header.
            accept_encoding: false,
            headers: fv.headers.items.clone(),
            cookies,
            query: qs,
        })
    } else {
        Err("no cache policy and no legacy cache settings".into())
    }
}

fn cache_key(f: &Facts) -> Vec<Line> {
    let mut out = Vec::new();
    for b in behaviours(&f.distribution.distribution) {
        let has_viewer_fn = b
            .function_associations
            .items
            .iter()
            .any(|a| a.event_type == "viewer-request")
            || b.lambda_function_associations
                .items
                .iter()
                .any(|a| a.event_type == "viewer-request");
        let has_origin_fn = b
            .lambda_function_associations
            .items
            .iter()
            .any(|a| a.event_type.starts_with("origin"));
        let CacheKey {
            headers,
            cookies,
            query: qs,
            accept_encoding,
        } = match key_parts(f, b) {
            Ok(p) => p,
            Err(e) => {
                out.push(fail(
                    "cache-key",
                    format!("{}: {e}", b.name()),
                    "grant cloudfront:GetCachePolicy to run this check",
                ));
                continue;
            }
        };
        out.push(if !headers.is_empty() {
            fail("cache-key", format!("{} keys on headers {}: one cached copy per distinct value (the viewer function already puts the negotiated format into the path)", b.name(), headers.join(", ")), "use a cache policy with HeaderBehavior none (scalefront's keys on the URI alone)")
        } else if accept_encoding {
            fail("cache-key", format!("{} keys on Accept-Encoding (gzip/br): images are never compressed, yet each variant is cached up to three times, each copy another origin-response run", b.name()), "set EnableAcceptEncodingGzip and EnableAcceptEncodingBrotli to false (scalefront's cache policy does)")
        } else if !cookies.is_empty() {
            fail("cache-key", format!("{} keys on cookies ({}): photos get cached once per visitor", b.name(), cookies.join("; ")), "use a cache policy with CookieBehavior none")
        } else if qs.is_none() && !has_viewer_fn && has_origin_fn {
            fail("cache-key", format!("{} forwards no query strings and no viewer function moves them into the path: the origin function never sees w, h, q, f", b.name()), "associate scalefront's viewer-request function (or forward the parameters in the cache policy)")
        } else if let (Some(q), true) = (&qs, has_viewer_fn) {
            fail("cache-key", format!("{} keys on {q}, which the viewer function has already moved into the path: extra cache entries per stray parameter", b.name()), "use a cache policy with QueryStringBehavior none")
        } else {
            pass("cache-key", format!("{} keys on the URI{}", b.name(), qs.map(|q| format!(" and {q}")).unwrap_or_default()))
        });
    }
    out
}

fn failover(f: &Facts, url_origins: &[&Origin]) -> Vec<Line> {
    let d = &f.distribution.distribution;
    let mut out = Vec::new();
    let s3_ids: Vec<&str> = s3_origins(d).iter().map(|(o, _)| o.id.as_str()).collect();
    for u in url_origins {
        let group = d
            .distribution_config
            .origin_groups
            .items
            .iter()
            .find(|g| g.members.items.iter().any(|m| m.origin_id == u.id));
        out.push(match group {
            None => fail("failover", format!("function URL origin {} is in no origin group: nothing sends S3's misses to it", u.id), "put S3 (primary) and the function URL (secondary) in an origin group failing over on 403 and 404"),
            Some(g) => {
                let codes = &g.failover_criteria.status_codes.items;
                let primary_s3 = g.members.items.first().is_some_and(|m| s3_ids.contains(&m.origin_id.as_str()));
                let used = behaviours(d).iter().any(|b| b.target_origin_id == g.id);
                if !primary_s3 {
                    fail("failover", format!("origin group {}: the primary is not the S3 bucket", g.id), "make the S3 origin the group's first member")
                } else if !(codes.contains(&403) && codes.contains(&404)) {
                    fail("failover", format!("origin group {} fails over on {:?} only; S3 answers 403 (no ListBucket) or 404 for a variant not made yet", g.id, codes), "fail over on both 403 and 404")
                } else if !used {
                    fail("failover", format!("origin group {} is not the target of any behaviour", g.id), "point the default behaviour at the origin group")
                } else {
                    pass("failover", format!("origin group {} fails over from S3 to {} on 403/404", g.id, u.id))
                }
            }
        });
        let Some(lf) = f.lambdas.get(&u.domain_name) else {
            out.push(fail(
                "url-permissions",
                format!("the function behind {} was not found", u.domain_name),
                "grant lambda:ListFunctions/GetFunctionUrlConfig, or run doctor with --stack",
            ));
            continue;
        };
        let auth = lf
            .url
            .as_ref()
            .and_then(|v| v.get("AuthType"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let stmts = lf
            .policy
            .as_ref()
            .and_then(|p| p.get("Policy"))
            .map(policy::statements)
            .unwrap_or_default();
        let grants = |action: &str| {
            stmts.iter().any(|s| {
                s.allow
                    && s.covers_action(action)
                    && s.has_principal("Service", "cloudfront.amazonaws.com")
                    && (s.source_arns.is_empty()
                        || s.source_arns
                            .iter()
                            .any(|a| policy::wildcard(a, &d.arn, false)))
            })
        };
        let missing: Vec<&str> = ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"]
            .into_iter()
            .filter(|a| !grants(a))
            .collect();
        let name = lf
            .configuration
            .as_ref()
            .map(|c| c.function_name.clone())
            .unwrap_or_else(|| u.domain_name.clone());
        out.push(if auth != "AWS_IAM" {
            fail("url-permissions", format!("{name}'s function URL has AuthType {auth}: anyone can call it directly"), "set AuthType AWS_IAM and let CloudFront sign with an OAC")
        } else if !missing.is_empty() {
            fail("url-permissions", format!("{name} does not let this distribution call it: missing {}", missing.join(" and ")), format!("aws lambda add-permission --function-name {name} --principal cloudfront.amazonaws.com --source-arn {} --action {} (for each)", d.arn, missing.join(" / ")))
        } else {
            pass("url-permissions", format!("{name} lets this distribution lambda:InvokeFunctionUrl and lambda:InvokeFunction"))
        });
    }
    out
}

fn activity(f: &Facts) -> Vec<Line> {
    let mut out = Vec::new();
    for (key, lf) in &f.lambdas {
        let Some(c) = &lf.configuration else { continue };
        let name = &c.function_name;
        let ran: Vec<String> = lf
            .activity
            .iter()
            .filter(|a| a.invocations > 0.0)
            .map(|a| format!("{} {}", a.region, a.invocations))
            .collect();
        let looked: Vec<&str> = lf.activity.iter().map(|a| a.region.as_str()).collect();
        let edge = LambdaArn::parse(key).is_some();
        out.push(if lf.activity.is_empty() {
            fail("invocations", format!("{name}: invocation metrics could not be read"), "grant cloudwatch:GetMetricStatistics to run this check")
        } else if ran.is_empty() {
            fail("invocations", format!("{name} was not invoked in the last 7 days (looked in {})", looked.join(", ")), if edge {
                "request a variant that is not in S3 yet (e.g. the stack's TestUrl with a new w=), check the behaviour's origin-response association and that S3 answers 403/404 for it"
            } else {
                "request a variant that is not in S3 yet (e.g. the stack's TestUrl with a new w=) and check the origin group's failover"
            })
        } else {
            pass("invocations", format!("{name} ran in the last 7 days: {}", ran.join(", ")))
        });
        let groups: Vec<String> = lf
            .activity
            .iter()
            .flat_map(|a| {
                a.log_groups
                    .iter()
                    .map(move |g| format!("{g} in {}", a.region))
            })
            .collect();
        out.push(if groups.is_empty() {
            fail("logs", format!("no log group for {name} in {}", looked.join(", ")), "the function has not run (see invocations), or its role lacks logs:CreateLogGroup/PutLogEvents (attach AWSLambdaBasicExecutionRole)")
        } else {
            let first = lf.activity.iter().find(|a| !a.log_groups.is_empty()).map(|a| format!("aws logs tail {} --region {} --since 1h", a.log_groups[0], a.region)).unwrap_or_default();
            pass("logs", format!("{} — read with: {first}", groups.join("; ")))
        });
    }
    out
}

/// The runtime against [`runtime::RUNTIMES`], on the day the facts were read.
fn edge_runtime(f: &Facts, short: &str, c: &FunctionConfiguration) -> Line {
    let runtime = c
        .runtime
        .clone()
        .unwrap_or_else(|| c.package_type.clone().unwrap_or_default());
    let zip = c.package_type.as_deref().unwrap_or("Zip") == "Zip";
    let today = f.collected.as_deref().and_then(Date::parse);
    let verdict = if zip {
        runtime::assess(&runtime, today)
    } else {
        Verdict::Refused
    };
    let next = runtime::successor(&runtime);
    let move_to = |before: &str| {
        format!("move to {next}{before}: run `scalefront deploy` again (it deploys {EDGE_RUNTIME}); a function of your own: aws lambda update-function-configuration --runtime {next}, publish-version, and associate the new version")
    };
    match (verdict, today) {
        (Verdict::Refused, _) => fail("edge-runtime", format!("{short} runs {runtime}, which Lambda@Edge refuses (Node.js or Python zip packages of a runtime Lambda supports; no custom runtimes, containers or layers)"), format!("use {EDGE_RUNTIME} with scalefront's origin-response.zip, or regional mode for the native binary")),
        (Verdict::Supported(r), Some(_)) => pass("edge-runtime", format!("{short} runs {runtime} (Lambda deprecates it on {})", r.deprecation)),
        (Verdict::Supported(r), None) => pass("edge-runtime", format!("{short} runs {runtime} (Lambda deprecates it on {}; these facts do not say when they were read)", r.deprecation)),
        (Verdict::Deprecating(r, left), Some(today)) => warn(
            "edge-runtime",
            format!("{short} runs {runtime}: Lambda deprecates it on {} (in {left} days; no more security patches), {}", r.deprecation, r.blocks(today)),
            if next == r.id {
                format!("no newer runtime of its language is listed yet: recheck https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html and move before {}", r.deprecation)
            } else {
                move_to(&format!(" before {}", r.deprecation))
            },
        ),
        (Verdict::Deprecated(r), Some(today)) => warn(
            "edge-runtime",
            format!("{short} runs {runtime}, deprecated by Lambda since {} (no more security patches); {}; versions already associated keep running", r.deprecation, r.blocks(today)),
            move_to(""),
        ),
        // assess() judges deprecation only with a date.
        (Verdict::Deprecating(r, _) | Verdict::Deprecated(r), None) => pass("edge-runtime", format!("{short} runs {runtime} (Lambda deprecates it on {})", r.deprecation)),
    }
}

/// How `doctor --set-log-retention` is run for this setup.
fn doctor_command(f: &Facts) -> String {
    match &f.stack {
        Some(s) => format!("scalefront doctor --stack {}", s.name),
        None => format!(
            "scalefront doctor --distribution {}",
            f.distribution.distribution.id
        ),
    }
}

/// Lambda@Edge leaves a log group in every region it ran in, created without a retention.
fn log_retention(f: &Facts) -> Vec<Line> {
    let mut out = Vec::new();
    for lf in f.lambdas.values() {
        let Some(c) = &lf.configuration else { continue };
        let name = &c.function_name;
        let groups: Vec<(String, Option<Option<u32>>)> = lf
            .activity
            .iter()
            .flat_map(|a| {
                a.log_groups
                    .iter()
                    .map(move |g| (format!("{g} in {}", a.region), a.retention.get(g).copied()))
            })
            .collect();
        if groups.is_empty() {
            continue; // the `logs` line says there is none
        }
        let forever: Vec<&str> = groups
            .iter()
            .filter(|(_, r)| *r == Some(None))
            .map(|(g, _)| g.as_str())
            .collect();
        let unknown = groups.iter().filter(|(_, r)| r.is_none()).count();
        let fix = format!(
            "{} --set-log-retention 30 (puts a 30-day retention on every group doctor finds; CloudWatch takes 1, 3, 5, 7, 14, 30, 60, 90 … 3653 days)",
            doctor_command(f)
        );
        out.push(if !forever.is_empty() {
            warn(
                "log-retention",
                format!(
                    "{name}: {} log group(s) never expire ({}): Lambda@Edge leaves one in every region it runs in, and each keeps every line forever",
                    forever.len(),
                    forever.join("; ")
                ),
                fix,
            )
        } else if unknown > 0 {
            // Facts saved by a doctor that did not read retentions: nothing to judge.
            pass(
                "log-retention",
                format!("{name}: the retention of {unknown} log group(s) was not recorded (facts saved by an older doctor; run it again to check)"),
            )
        } else {
            pass(
                "log-retention",
                format!(
                    "{name}: every log group expires ({})",
                    groups
                        .iter()
                        .map(|(g, r)| format!("{g}: {} days", r.flatten().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
        });
    }
    out
}

/// Images on one gallery page whose variants may all be missing at once (a new album's page: its
/// thumbnails, one srcset candidate each).
pub const PAGE_IMAGES: u32 = 50;
/// Visitors of that page at the same moment whose browsers negotiate different formats (AVIF and
/// WebP): each format is another variant to make.
pub const FORMATS_AT_ONCE: u32 = 2;
/// Concurrent executions a page of new photos needs: one per missing variant, all in the region
/// nearest the visitors (or the Origin Shield's), each running for a resize's 0.3–1 s. Browsers
/// send them together (HTTP/2 on one connection). Lambda's default quota is 1,000 per region; new
/// accounts start lower ("New AWS accounts have reduced concurrency and memory quotas",
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>).
pub const CONCURRENCY_NEEDED: u32 = PAGE_IMAGES * FORMATS_AT_ONCE;
/// Service Quotas' code for Lambda's "Concurrent executions" (per region).
pub const CONCURRENCY_QUOTA_CODE: &str = "L-B99A9384";

/// Lambda@Edge cannot reserve concurrency: it shares the region's unreserved concurrency with
/// every other function, and when that runs out the function is throttled and CloudFront answers
/// 503 ("Lambda@Edge limit exceeded",
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/http-503-service-unavailable.html#http-503-lambda-limit-exceeded-error>).
fn concurrency(f: &Facts) -> Vec<Line> {
    if !f.lambdas.values().any(|l| l.configuration.is_some()) {
        return Vec::new(); // nothing that runs (see resizer)
    }
    if f.account_settings.is_empty() {
        return vec![warn(
            "concurrency",
            "the Lambda concurrency quota was not read (facts saved by an older doctor, or lambda:GetAccountSettings was denied)",
            "run doctor against the live setup with lambda:GetAccountSettings allowed",
        )];
    }
    let all: Vec<String> = f
        .account_settings
        .iter()
        .map(|(r, s)| format!("{r} {}", s.account_limit.unreserved_concurrent_executions))
        .collect();
    let low: Vec<(&String, &AccountLimit)> = f
        .account_settings
        .iter()
        .map(|(r, s)| (r, &s.account_limit))
        .filter(|(_, l)| l.unreserved_concurrent_executions < CONCURRENCY_NEEDED)
        .collect();
    if low.is_empty() {
        return vec![pass(
            "concurrency",
            format!(
                "unreserved Lambda concurrency {} (a page of new photos needs about {CONCURRENCY_NEEDED} at once)",
                all.join(", ")
            ),
        )];
    }
    let regions: Vec<&str> = low.iter().map(|(r, _)| r.as_str()).collect();
    vec![warn(
        "concurrency",
        format!(
            "{}: a page of {PAGE_IMAGES} new photos seen in {FORMATS_AT_ONCE} formats makes about {CONCURRENCY_NEEDED} variants at once; beyond the quota Lambda@Edge is throttled and CloudFront answers 503 (new accounts start with a reduced quota)",
            low.iter()
                .map(|(r, l)| format!(
                    "{r} lets Lambda run only {} at once ({} unreserved)",
                    l.concurrent_executions, l.unreserved_concurrent_executions
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        format!(
            "raise Service Quotas → AWS Lambda → Concurrent executions ({CONCURRENCY_QUOTA_CODE}) in {} to at least 1000, Lambda's default: aws service-quotas request-service-quota-increase --service-code lambda --quota-code {CONCURRENCY_QUOTA_CODE} --desired-value 1000 --region {}",
            regions.join(", "),
            regions[0]
        ),
    )]
}

/// Signed URLs: the viewer function checks signatures with the keys of its KeyValueStore, by the
/// names viewer-fn gives them ([`viewer_fn::sign::kvs_key`]); a slot the store lacks makes every
/// URL signed with it a 403. The values are never read into the facts.
fn signing_keys(f: &Facts) -> Vec<Line> {
    let mut out = Vec::new();
    let associations: Vec<(&str, &str)> = f
        .viewer_functions
        .values()
        .flatten()
        .flat_map(|d| {
            let s = &d.function_summary;
            s.function_config
                .key_value_store_associations
                .items
                .iter()
                .map(move |k| (s.name.as_str(), k.arn.as_str()))
        })
        .collect();
    let signed_stack = f.stack.as_ref().filter(|s| !s.key_value_stores.is_empty());
    // A viewer function that could not be read (or has no LIVE stage) may well have the
    // association: the viewer-function line says what is wrong with it.
    let all_read = f.viewer_functions.values().all(Option::is_some);
    if associations.is_empty() {
        if let Some(s) = signed_stack.filter(|_| all_read) {
            out.push(fail("signing-keys", format!("stack {} has the signing-key store {} (its spec is signed), but no viewer function reads a KeyValueStore: every signed URL is refused (403)", s.name, s.key_value_stores.join(", ")), format!("deploy again (scalefront deploy associates the store), or: aws cloudfront update-function with FunctionConfig.KeyValueStoreAssociations naming the store's ARN (stack output {}), then publish-function", crate::keys::OUTPUT)));
        }
        return out;
    }
    let wanted: Vec<String> = viewer_fn::sign::SLOTS
        .iter()
        .map(|s| viewer_fn::sign::kvs_key(*s))
        .collect();
    let stack = f
        .stack
        .as_ref()
        .map_or("STACK".to_owned(), |s| s.name.clone());
    for (function, arn) in associations {
        out.push(match f.key_value_stores.get(arn) {
            None => fail("signing-keys", format!("{function} reads KeyValueStore {arn}, which could not be read"), "grant cloudfront-keyvaluestore:DescribeKeyValueStore and cloudfront-keyvaluestore:ListKeys (the data plane needs AWS CLI v2, or v1 with awscrt)"),
            Some(k) if k.describe.is_none() => fail("signing-keys", format!("{function} reads KeyValueStore {arn}, which does not exist: every signed URL is refused (403)"), "deploy again (the stack creates the store from the signing keys file)"),
            Some(k) => {
                let status = k.describe.as_ref().and_then(|d| d.get("Status")).and_then(Value::as_str).unwrap_or("READY");
                let missing: Vec<&str> = wanted.iter().filter(|w| !k.keys.contains(w)).map(String::as_str).collect();
                if status != "READY" {
                    fail("signing-keys", format!("{function}'s KeyValueStore {arn} is {status}, not READY"), "wait for it to be READY; a failed import (PROVISIONING_FAILED): check the signing keys file in the artifacts bucket and deploy again")
                } else if !missing.is_empty() {
                    let slots: Vec<String> = missing.iter().map(|m| m.trim_start_matches("scalefront-").to_owned()).collect();
                    fail("signing-keys", format!("{function}'s KeyValueStore {arn} lacks {}: URLs signed with that slot are refused (403){}", missing.join(", "), if slots.iter().any(|s| s.starts_with(viewer_fn::sign::ORIGIN_SLOT)) { ", and the origin's redirects for large variants too" } else { "" }), format!("put the missing key(s): {}", slots.iter().map(|s| format!("scalefront sign --rotate {s} --stack {stack} --keys FILE")).collect::<Vec<_>>().join("; ")))
                } else {
                    pass("signing-keys", format!("{function} reads KeyValueStore {arn}, which holds {} ({} keys; values not shown)", wanted.join(", "), k.keys.len()))
                }
            }
        });
    }
    out
}
