//! Collecting [`Facts`] from a live account through the `aws` CLI. Read-only calls only. A call that
//! fails for want of a permission does not stop the run: it is recorded and reported as a failing line.
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::Value;

use super::facts::*;
use crate::aws::{Aws, AwsError};

/// Where Lambda@Edge runs: the AWS regions with CloudFront regional edge caches. Its replicas log and
/// count invocations in the region that ran them, as `us-east-1.<name>`.
pub const EDGE_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
];

/// What to look at.
#[derive(Clone, Debug)]
pub enum Target {
    Distribution(String),
    /// A scalefront stack (in us-east-1): its distribution and functions.
    Stack(String),
}

pub(super) const HOME: &str = "us-east-1";

fn from<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> anyhow::Result<T> {
    serde_json::from_value(v).with_context(|| format!("unexpected shape of {what}"))
}

pub(super) struct Collector<'a> {
    pub(super) aws: &'a Aws,
    pub(super) facts: Facts,
}

impl Collector<'_> {
    /// Runs a call; a failure is recorded (and `None` returned), "not found" is `Ok(None)` too.
    pub(super) fn get(&mut self, region: &str, args: &[&str]) -> Option<Value> {
        match self.aws.call_opt(region, args) {
            Ok(v) => v,
            Err(e) => {
                self.facts.errors.push(e.to_string());
                None
            }
        }
    }
}

/// Collects everything the checks read. `regions` are where Lambda@Edge activity is looked for.
pub fn collect(
    aws: &Aws,
    target: &Target,
    regions: &[String],
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Facts> {
    let mut stack_functions = Vec::new();
    let mut stack = None;
    let stack_name = match target {
        Target::Stack(name) => Some(name.as_str()),
        Target::Distribution(_) => None,
    };
    let id = match target {
        Target::Distribution(id) => id.clone(),
        Target::Stack(name) => {
            progress(&format!("reading stack {name} in {HOME}"));
            let res = aws
                .call(
                    HOME,
                    &[
                        "cloudformation",
                        "describe-stack-resources",
                        "--stack-name",
                        name,
                    ],
                )
                .map_err(stack_error(name))?;
            let items = res
                .get("StackResources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let physical = |ty: &str| {
                items
                    .iter()
                    .filter(|r| r.get("ResourceType").and_then(Value::as_str) == Some(ty))
                    .filter_map(|r| {
                        r.get("PhysicalResourceId")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .collect::<Vec<_>>()
            };
            stack_functions = physical("AWS::Lambda::Function");
            stack = Some(StackFacts {
                name: name.clone(),
                key_value_stores: physical("AWS::CloudFront::KeyValueStore"),
            });
            match physical("AWS::CloudFront::Distribution").into_iter().next() {
                Some(id) => id,
                None => bail!("stack {name} has no CloudFront distribution (yet): is it a scalefront stack, and did it finish creating?"),
            }
        }
    };
    progress(&format!("reading distribution {id}"));
    let dist = aws
        .call(HOME, &["cloudfront", "get-distribution", "--id", &id])
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut c = Collector {
        aws,
        facts: Facts {
            distribution: from(dist, "get-distribution")?,
            collected: Some(crate::runtime::Date::today().to_string()),
            stack,
            ..Facts::default()
        },
    };
    let d = c.facts.distribution.distribution.clone();
    c.facts.domain = super::domain::collect(aws, &d, &mut c.facts.errors, &mut *progress);
    let behaviours: Vec<CacheBehavior> =
        std::iter::once(d.distribution_config.default_cache_behavior.clone())
            .chain(d.distribution_config.cache_behaviors.items.clone())
            .collect();

    for b in &behaviours {
        if let Some(pid) = &b.cache_policy_id {
            if !c.facts.cache_policies.contains_key(pid) {
                if let Some(v) = c.get(HOME, &["cloudfront", "get-cache-policy", "--id", pid]) {
                    c.facts
                        .cache_policies
                        .insert(pid.clone(), from(v, "get-cache-policy")?);
                }
            }
        }
        for a in &b.function_associations.items {
            let name = a.arn.rsplit('/').next().unwrap_or(&a.arn).to_owned();
            match aws.call_opt(
                HOME,
                &[
                    "cloudfront",
                    "describe-function",
                    "--name",
                    &name,
                    "--stage",
                    "LIVE",
                ],
            ) {
                Ok(v) => {
                    let parsed = v
                        .map(|v| from::<DescribeFunction>(v, "describe-function"))
                        .transpose()?;
                    let stores: Vec<String> = parsed
                        .iter()
                        .flat_map(|d| {
                            d.function_summary
                                .function_config
                                .key_value_store_associations
                                .items
                                .iter()
                                .map(|k| k.arn.clone())
                        })
                        .collect();
                    for store in stores {
                        if !c.facts.key_value_stores.contains_key(&store) {
                            progress(&format!("reading the keys of KeyValueStore {store}"));
                            let kvs = key_value_store(&mut c, &store);
                            c.facts.key_value_stores.insert(store, kvs);
                        }
                    }
                    c.facts.viewer_functions.insert(a.arn.clone(), parsed);
                }
                Err(e) => c.facts.errors.push(e.to_string()),
            }
        }
    }
    for o in &d.distribution_config.origins.items {
        if let Some(oac) = o
            .origin_access_control_id
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            if let Some(v) = c.get(
                HOME,
                &["cloudfront", "get-origin-access-control", "--id", oac],
            ) {
                c.facts
                    .origin_access_controls
                    .insert(oac.to_owned(), from(v, "get-origin-access-control")?);
            }
        }
        if let Some(bucket) = s3_origin_bucket(&o.domain_name) {
            progress(&format!("reading bucket {bucket}"));
            let region = c
                .get(HOME, &["s3api", "get-bucket-location", "--bucket", bucket])
                .map(|v| {
                    v.get("LocationConstraint")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .unwrap_or(HOME)
                        .to_owned()
                });
            let policy = c.get(
                region.as_deref().unwrap_or(HOME),
                &["s3api", "get-bucket-policy", "--bucket", bucket],
            );
            c.facts
                .buckets
                .insert(bucket.to_owned(), BucketFacts { region, policy });
        }
    }
    for b in &behaviours {
        for a in &b.lambda_function_associations.items {
            if c.facts.lambdas.contains_key(&a.arn) {
                continue;
            }
            let Some(arn) = LambdaArn::parse(&a.arn) else {
                continue;
            };
            progress(&format!(
                "reading Lambda@Edge function {} and looking for its invocations and logs in {} regions",
                arn.name,
                regions.len()
            ));
            let (lf, errors) = edge_function(aws, &a.arn, regions)?;
            c.facts.errors.extend(errors);
            c.facts.lambdas.insert(a.arn.clone(), lf);
        }
    }
    for o in &d.distribution_config.origins.items {
        let Some(region) = lambda_url_region(&o.domain_name) else {
            continue;
        };
        progress(&format!("finding the function behind {}", o.domain_name));
        let Some(name) = function_for_url(&mut c, region, &o.domain_name, &stack_functions) else {
            continue;
        };
        let mut lf = lambda_facts(&mut c, region, &name)?;
        lf.url = c.get(
            region,
            &[
                "lambda",
                "get-function-url-config",
                "--function-name",
                &name,
            ],
        );
        lf.policy = c.get(region, &["lambda", "get-policy", "--function-name", &name]);
        lf.activity = activity(
            aws,
            &[region.to_owned()],
            std::slice::from_ref(&name),
            &mut c.facts.errors,
        );
        c.facts.lambdas.insert(o.domain_name.clone(), lf);
    }
    c.facts.purge = super::purge::collect(&mut c, stack_name, &mut *progress)?;
    account_settings(&mut c, &mut *progress);
    Ok(c.facts)
}

/// A KeyValueStore through its data plane: whether it exists, and its key names. `list-keys`
/// answers `{"Items": [{"Key", "Value"}]}`
/// (<https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_ListKeys.html>): the values
/// are secrets and are dropped here, never kept in the facts.
fn key_value_store(c: &mut Collector, arn: &str) -> KvsFacts {
    let describe = c.get(
        HOME,
        &[
            "cloudfront-keyvaluestore",
            "describe-key-value-store",
            "--kvs-arn",
            arn,
        ],
    );
    let keys = if describe.is_some() {
        c.get(
            HOME,
            &["cloudfront-keyvaluestore", "list-keys", "--kvs-arn", arn],
        )
        .map(|v| {
            v.get("Items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| i.get("Key").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    KvsFacts { describe, keys }
}

/// `lambda get-account-settings` in us-east-1 and wherever a function of this setup runs: the
/// regions its log groups are in (Lambda@Edge runs, and counts against the concurrency quota, in
/// the region nearest the edge, or the Origin Shield's) and a function URL's own region. One cheap
/// call per region; the regions are known from the activity already read.
fn account_settings(c: &mut Collector, progress: &mut dyn FnMut(&str)) {
    let mut regions = vec![HOME.to_owned()];
    for (key, lf) in &c.facts.lambdas {
        if let Some(r) = lambda_url_region(key) {
            regions.push(r.to_owned());
        }
        for a in lf.activity.iter().filter(|a| !a.log_groups.is_empty()) {
            regions.push(a.region.clone());
        }
    }
    regions.sort();
    regions.dedup();
    progress(&format!(
        "reading the Lambda concurrency quota in {}",
        regions.join(", ")
    ));
    for region in regions {
        if let Some(v) = c.get(&region, &["lambda", "get-account-settings"]) {
            match from::<AccountSettings>(v, "get-account-settings") {
                Ok(s) => {
                    c.facts.account_settings.insert(region, s);
                }
                Err(e) => c.facts.errors.push(format!("{e:#}")),
            }
        }
    }
}

/// Facts about one Lambda@Edge function as an association names it (configuration, role, and where it
/// ran and logged across `regions`), with the calls that failed.
pub fn edge_function(
    aws: &Aws,
    association_arn: &str,
    regions: &[String],
) -> anyhow::Result<(LambdaFacts, Vec<String>)> {
    let arn = LambdaArn::parse(association_arn)
        .with_context(|| format!("{association_arn} is not a Lambda function ARN"))?;
    let mut c = Collector {
        aws,
        facts: Facts::default(),
    };
    let mut lf = lambda_facts(&mut c, &arn.region, association_arn)?;
    // Replicas are named us-east-1.<name> wherever they run; in us-east-1 a direct test invoke counts too.
    let mut names = vec![format!("us-east-1.{}", arn.name)];
    if arn.region == HOME {
        names.push(arn.name.clone());
    }
    lf.activity = activity(aws, regions, &names, &mut c.facts.errors);
    Ok((lf, c.facts.errors))
}

fn stack_error(name: &str) -> impl Fn(AwsError) -> anyhow::Error + '_ {
    move |e| {
        match e.kind {
        crate::aws::ErrorKind::NotFound => anyhow::anyhow!("no stack named {name} in {HOME} (scalefront stacks live in us-east-1); list them with `aws cloudformation list-stacks --region us-east-1`"),
        _ => anyhow::anyhow!(e),
    }
    }
}

fn function_for_url(
    c: &mut Collector,
    region: &str,
    domain: &str,
    candidates: &[String],
) -> Option<String> {
    let mut names: Vec<String> = candidates.to_vec();
    if names.is_empty() {
        // Without a stack: look through the region's functions (bounded).
        let list = c.get(region, &["lambda", "list-functions", "--max-items", "200"])?;
        names = list
            .get("Functions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| {
                f.get("FunctionName")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
    }
    names.into_iter().find(|n| {
        c.aws
            .call_opt(
                region,
                &["lambda", "get-function-url-config", "--function-name", n],
            )
            .ok()
            .flatten()
            .and_then(|v| {
                v.get("FunctionUrl")
                    .and_then(Value::as_str)
                    .map(|u| u.contains(domain))
            })
            .unwrap_or(false)
    })
}

pub(super) fn lambda_facts(
    c: &mut Collector,
    region: &str,
    function: &str,
) -> anyhow::Result<LambdaFacts> {
    let mut lf = LambdaFacts::default();
    let Some(v) = c.get(
        region,
        &[
            "lambda",
            "get-function-configuration",
            "--function-name",
            function,
        ],
    ) else {
        return Ok(lf);
    };
    let conf: FunctionConfiguration = from(v, "get-function-configuration")?;
    let role_name = conf.role.rsplit('/').next().unwrap_or_default().to_owned();
    lf.configuration = Some(conf);
    let Some(v) = c.get(HOME, &["iam", "get-role", "--role-name", &role_name]) else {
        return Ok(lf);
    };
    let mut role = RoleFacts {
        get_role: from(v, "get-role")?,
        ..RoleFacts::default()
    };
    if let Some(v) = c.get(
        HOME,
        &["iam", "list-role-policies", "--role-name", &role_name],
    ) {
        for p in v
            .get("PolicyNames")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some(doc) = c
                .get(
                    HOME,
                    &[
                        "iam",
                        "get-role-policy",
                        "--role-name",
                        &role_name,
                        "--policy-name",
                        p,
                    ],
                )
                .and_then(|v| v.get("PolicyDocument").cloned())
            {
                role.policy_documents.push(doc);
            }
        }
    }
    if let Some(v) = c.get(
        HOME,
        &[
            "iam",
            "list-attached-role-policies",
            "--role-name",
            &role_name,
        ],
    ) {
        for arn in v
            .get("AttachedPolicies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("PolicyArn").and_then(Value::as_str))
        {
            role.attached_policy_arns.push(arn.to_owned());
            if arn.starts_with("arn:aws:iam::aws:") {
                continue; // AWS-managed: known by name
            }
            let version = c
                .get(HOME, &["iam", "get-policy", "--policy-arn", arn])
                .and_then(|v| {
                    v.pointer("/Policy/DefaultVersionId")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            if let Some(version) = version {
                if let Some(doc) = c
                    .get(
                        HOME,
                        &[
                            "iam",
                            "get-policy-version",
                            "--policy-arn",
                            arn,
                            "--version-id",
                            &version,
                        ],
                    )
                    .and_then(|v| v.pointer("/PolicyVersion/Document").cloned())
                {
                    role.policy_documents.push(doc);
                }
            }
        }
    }
    lf.role = Some(role);
    Ok(lf)
}

fn iso(t: SystemTime) -> String {
    // CloudWatch takes epoch seconds too, through the CLI's timestamp parser.
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        .to_string()
}

/// Invocations over the last 7 days and log groups, per region, for any of `names`; regions in parallel.
fn activity(
    aws: &Aws,
    regions: &[String],
    names: &[String],
    errors: &mut Vec<String>,
) -> Vec<Activity> {
    let now = SystemTime::now();
    let (start, end) = (iso(now - Duration::from_secs(7 * 86_400)), iso(now));
    let results: Vec<Result<Activity, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = regions
            .iter()
            .map(|region| {
                let (start, end) = (&start, &end);
                s.spawn(move || -> Result<Activity, String> {
                    let mut a = Activity {
                        region: region.clone(),
                        ..Activity::default()
                    };
                    for name in names {
                        let dims = format!("Name=FunctionName,Value={name}");
                        let v = aws
                            .call(
                                region,
                                &[
                                    "cloudwatch",
                                    "get-metric-statistics",
                                    "--namespace",
                                    "AWS/Lambda",
                                    "--metric-name",
                                    "Invocations",
                                    "--dimensions",
                                    &dims,
                                    "--start-time",
                                    start,
                                    "--end-time",
                                    end,
                                    "--period",
                                    "86400",
                                    "--statistics",
                                    "Sum",
                                ],
                            )
                            .map_err(|e| e.to_string())?;
                        a.invocations += v
                            .get("Datapoints")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|p| p.get("Sum").and_then(Value::as_f64))
                            .sum::<f64>();
                        let prefix = format!("/aws/lambda/{name}");
                        let v = aws
                            .call(
                                region,
                                &[
                                    "logs",
                                    "describe-log-groups",
                                    "--log-group-name-prefix",
                                    &prefix,
                                ],
                            )
                            .map_err(|e| e.to_string())?;
                        for g in crate::logs::groups_in(&v, region)
                            .into_iter()
                            .filter(|g| g.name == prefix)
                        {
                            a.retention.insert(g.name.clone(), g.retention_days);
                            a.log_groups.push(g.name);
                        }
                    }
                    Ok(a)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("activity thread panicked".into()))
            })
            .collect()
    });
    let mut out = Vec::new();
    let mut seen = BTreeMap::new();
    for r in results {
        match r {
            Ok(a) => out.push(a),
            Err(e) => {
                // A region not enabled for the account answers with an auth error: one line, not sixteen.
                if seen.insert(e.clone(), ()).is_none() {
                    errors.push(e);
                }
            }
        }
    }
    out
}
