//! The automatic purge, as doctor sees it (issue 11): when an original is replaced or deleted, S3
//! tells EventBridge, whose rule runs the purge function next to the bucket, which deletes that
//! original's stored variants and invalidates them in this distribution. Everything lives in the
//! stack next to the bucket (`<stack>-region` in the bucket's region,
//! [`crate::template::region_stack_name`]; `infra/templates/region.yaml`), except the bucket's
//! EventBridge notifications, which deploy's `events` step turns on.
//!
//! Collected: the stack's outputs (`PurgeFunctionName`, `PurgeRuleArn`), the function's
//! configuration, role and resource policy, the rule and its targets, the bucket's notification
//! configuration. Checked (pure, over those facts):
//! - `purge-function`: the function exists, runs the `purge` handler, and invalidates this
//!   distribution (`SCALEFRONT_DISTRIBUTION_ID`); without the stack at all, one warning;
//! - `purge-permissions`: its role may list the bucket and `s3:DeleteObject` under the variant
//!   prefix only, write no original, and `cloudfront:CreateInvalidation` on this distribution only;
//! - `purge-events`: the bucket sends its events to EventBridge; the rule is enabled and matches
//!   a replaced and a deleted original of this bucket, never a key under the variant prefix; it
//!   targets the function, which lets `events.amazonaws.com` invoke it from that rule.
use serde_json::{json, Value};

use super::checks::{fail, pass, resize_roles, role_statements, warn, Line};
use super::collect::{lambda_facts, Collector, HOME};
use super::facts::{s3_origin_bucket, stack_value, Facts, PurgeFacts};
use crate::policy::{self, Statement};

/// The environment variable naming the distribution the purge invalidates (the regional
/// bootstrap's `purge::DISTRIBUTION_ENV`).
pub const DISTRIBUTION_ENV: &str = "SCALEFRONT_DISTRIBUTION_ID";
/// The function's `Handler` setting: the bootstrap's purge handler (a custom runtime reads it
/// from `_HANDLER`).
pub const HANDLER: &str = "purge";
/// The stack outputs naming the function and the rule (`infra/templates/region.yaml`).
pub const FUNCTION_OUTPUT: &str = "PurgeFunctionName";
pub const RULE_OUTPUT: &str = "PurgeRuleArn";
/// The variant prefix when nothing collected says it: the spec's default.
pub const DEFAULT_PREFIX: &str = "_sf";

/// S3 actions that change or remove an object, and `s3:PutLifecycleConfiguration` (a lifecycle
/// rule can expire originals): the purge needs none of them on an original.
const ORIGINAL_WRITES: &[&str] = &[
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutLifecycleConfiguration",
];
/// Those of [`ORIGINAL_WRITES`] whose resource is the bucket.
const BUCKET_WRITES: &[&str] = &["s3:PutLifecycleConfiguration"];

/// Reads the purge's wiring next to the photo bucket. The bucket and its region: with `--stack`,
/// the stack's `BucketName` and `BucketRegion` parameters; else the distribution's S3 origin. The
/// stack next to it: `<stack>-region`, or without `--stack` the name deploy gives it by default
/// (`scalefront-<bucket>-region`: one `describe-stacks`, cheap). `None`: no bucket to look next
/// to, or the stack could not be read (the failed call is in the facts' errors).
pub(super) fn collect(
    c: &mut Collector,
    stack: Option<&str>,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Option<PurgeFacts>> {
    let (mut bucket, mut region) = (None, None);
    if let Some(s) = stack {
        if let Some(v) = c.get(
            HOME,
            &["cloudformation", "describe-stacks", "--stack-name", s],
        ) {
            let param = |k| {
                stack_value(&v, "Parameters", "ParameterKey", "ParameterValue", k)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            bucket = param("BucketName");
            region = param("BucketRegion");
        }
    }
    let bucket = match bucket {
        Some(b) => b,
        None => {
            let d = &c.facts.distribution.distribution;
            let Some(b) = d
                .distribution_config
                .origins
                .items
                .iter()
                .find_map(|o| s3_origin_bucket(&o.domain_name))
            else {
                return Ok(None);
            };
            b.to_owned()
        }
    };
    let region =
        match region.or_else(|| c.facts.buckets.get(&bucket).and_then(|b| b.region.clone())) {
            Some(r) => r,
            None => {
                let Some(v) = c.get(HOME, &["s3api", "get-bucket-location", "--bucket", &bucket])
                else {
                    return Ok(None);
                };
                // S3 says null (or "") for us-east-1, "EU" for the oldest eu-west-1 buckets.
                match v.get("LocationConstraint").and_then(Value::as_str) {
                    None | Some("") => HOME.to_owned(),
                    Some("EU") => "eu-west-1".to_owned(),
                    Some(r) => r.to_owned(),
                }
            }
        };
    let (name, guessed) = match stack {
        Some(s) => (crate::template::region_stack_name(s), false),
        None => (
            crate::template::region_stack_name(&crate::deploy::default_stack_name(&bucket)),
            true,
        ),
    };
    progress(&format!(
        "reading stack {name} next to bucket {bucket} in {region} (the automatic purge)"
    ));
    let describe_stack = match c.aws.call_opt(
        &region,
        &["cloudformation", "describe-stacks", "--stack-name", &name],
    ) {
        Ok(v) => v,
        Err(e) => {
            c.facts.errors.push(e.to_string());
            return Ok(None);
        }
    };
    let mut p = PurgeFacts {
        bucket,
        region,
        stack: name,
        guessed,
        describe_stack,
        ..PurgeFacts::default()
    };
    if p.describe_stack.is_none() {
        return Ok(Some(p));
    }
    let region = p.region.clone();
    if let Some(function) = p.output(FUNCTION_OUTPUT).map(str::to_owned) {
        let mut lf = lambda_facts(c, &region, &function)?;
        if lf.configuration.is_some() {
            // No resource policy at all: "not found", `None`.
            lf.policy = c.get(
                &region,
                &["lambda", "get-policy", "--function-name", &function],
            );
        }
        p.function = Some(lf);
    }
    if let Some((bus, rule)) = p.output(RULE_OUTPUT).and_then(rule_name) {
        let mut describe = vec!["events", "describe-rule", "--name", &rule];
        let mut targets = vec!["events", "list-targets-by-rule", "--rule", &rule];
        if let Some(bus) = &bus {
            describe.extend(["--event-bus-name", bus]);
            targets.extend(["--event-bus-name", bus]);
        }
        p.rule = c.get(&region, &describe);
        if p.rule.is_some() {
            p.targets = c.get(&region, &targets);
        }
    }
    p.notification = c
        .get(
            &region,
            &[
                "s3api",
                "get-bucket-notification-configuration",
                "--bucket",
                &p.bucket,
            ],
        )
        // A bucket without any notification answers with nothing at all.
        .map(|v| if v.is_null() { json!({}) } else { v });
    Ok(Some(p))
}

/// A rule's ARN taken apart: `arn:aws:events:REGION:ACCOUNT:rule/NAME` on the default bus,
/// `…:rule/BUS/NAME` on another (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html>).
pub fn rule_name(arn: &str) -> Option<(Option<String>, String)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix("rule/")?;
    Some(match rest.rsplit_once('/') {
        Some((bus, name)) => (Some(bus.to_owned()), name.to_owned()),
        None => (None, rest.to_owned()),
    })
}

// ---------------------------------------------------------------------------------------------
// Event patterns, read as EventBridge matches them: every field of the pattern must match (AND);
// a leaf is a list of conditions, any of which matches (OR) any of the event's values; `$or` takes
// any of its patterns. Operators: exact values, `prefix`, `suffix`, `wildcard`, `exists`,
// `equals-ignore-case`, and `anything-but` of a value, a list, `prefix`, `suffix`, `wildcard` or
// `equals-ignore-case`; anything else (`numeric`, `cidr`) is unknown: `None`.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html

/// Whether `pattern` matches `event` (`None`: the pattern uses an operator not read here).
pub fn pattern_matches(pattern: &Value, event: Option<&Value>) -> Option<bool> {
    let fields = pattern.as_object()?;
    let mut all = Some(true);
    for (k, p) in fields {
        let m = if k == "$or" {
            let options: Vec<Option<bool>> = p
                .as_array()?
                .iter()
                .map(|o| pattern_matches(o, event))
                .collect();
            any(options)
        } else {
            let value = event.and_then(|e| e.get(k));
            match p {
                Value::Object(_) => match value {
                    Some(v) if v.is_object() => pattern_matches(p, Some(v)),
                    _ => Some(false),
                },
                Value::Array(conditions) => leaf(conditions, value),
                _ => None,
            }
        };
        all = match (all, m) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (None, _) | (_, None) => None,
            _ => Some(true),
        };
    }
    all
}

fn any(options: Vec<Option<bool>>) -> Option<bool> {
    if options.contains(&Some(true)) {
        Some(true)
    } else if options.contains(&None) {
        None
    } else {
        Some(false)
    }
}

fn leaf(conditions: &[Value], value: Option<&Value>) -> Option<bool> {
    let values: Vec<&Value> = match value {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
    };
    any(conditions
        .iter()
        .map(|c| match c.get("exists").and_then(Value::as_bool) {
            // `"exists": false` matches a field the event does not have.
            Some(exists) => Some(exists != values.is_empty()),
            None => any(values.iter().map(|v| condition(c, v)).collect()),
        })
        .collect())
}

fn condition(c: &Value, v: &Value) -> Option<bool> {
    let text = v.as_str();
    let Some(ops) = c.as_object() else {
        return Some(c == v);
    };
    let (op, arg) = ops.iter().next()?;
    if ops.len() != 1 {
        return None;
    }
    let string_op = |op: &str, arg: &Value| -> Option<bool> {
        let t = text?;
        let a = arg.as_str();
        match op {
            "prefix" => match arg.get("equals-ignore-case").and_then(Value::as_str) {
                Some(p) => Some(t.to_lowercase().starts_with(&p.to_lowercase())),
                None => Some(t.starts_with(a?)),
            },
            "suffix" => match arg.get("equals-ignore-case").and_then(Value::as_str) {
                Some(p) => Some(t.to_lowercase().ends_with(&p.to_lowercase())),
                None => Some(t.ends_with(a?)),
            },
            "wildcard" => Some(policy::wildcard(a?, t, false)),
            "equals-ignore-case" => Some(t.eq_ignore_ascii_case(a?)),
            _ => None,
        }
    };
    match op.as_str() {
        "anything-but" => match arg {
            Value::Array(list) => Some(!list.contains(v)),
            Value::Object(inner) => {
                let (op, arg) = inner.iter().next()?;
                match arg {
                    // `{"anything-but": {"prefix": ["a/", "b/"]}}`
                    Value::Array(list) => {
                        let hits: Vec<Option<bool>> =
                            list.iter().map(|a| string_op(op, a)).collect();
                        any(hits).map(|hit| !hit)
                    }
                    arg => string_op(op, arg).map(|hit| !hit),
                }
            }
            single => Some(single != v),
        },
        op => string_op(op, arg),
    }
}

/// What S3 sends EventBridge for an object created or deleted
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html>), the fields a rule
/// can match on.
pub fn s3_event(detail_type: &str, bucket: &str, region: &str, key: &str) -> Value {
    let mut detail = json!({
        "version": "0",
        "bucket": {"name": bucket},
        "object": {"key": key, "sequencer": "00617F08299329D189"},
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
    });
    if detail_type == "Object Deleted" {
        detail["reason"] = json!("DeleteObject");
        detail["deletion-type"] = json!("Permanently Deleted");
    } else {
        detail["reason"] = json!("PutObject");
        detail["object"]["size"] = json!(5);
        detail["object"]["etag"] = json!("b1946ac92492d2347c6235b4d2611184");
    }
    json!({
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2021-11-12T00:00:00Z",
        "region": region,
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": detail,
    })
}

// ---------------------------------------------------------------------------------------------
// Checks.

const CREATED: &str = "Object Created";
const DELETED: &str = "Object Deleted";

/// An original's key, outside the variant prefix.
fn original_key(prefix: &str) -> String {
    let folder = if prefix == "photos" {
        "originals"
    } else {
        "photos"
    };
    format!("{folder}/scalefront-doctor-probe.jpg")
}

/// A variant's key of that original (`{prefix}/{source}/{generation}/{transform}.{format}`).
fn variant_key(prefix: &str) -> String {
    format!(
        "{prefix}/{}/g0000000/w640-h0-inside-q75.webp",
        original_key(prefix)
    )
}

/// The variant prefix, as the setup itself says it: where the resize function may write (its
/// role's `s3:PutObject` on `arn:aws:s3:::BUCKET/PREFIX/*`), else what the rule leaves out
/// (`anything-but` a prefix on the key), else the spec's default.
pub fn variant_prefix(f: &Facts, p: &PurgeFacts) -> String {
    let root = format!("arn:aws:s3:::{}/", p.bucket);
    let from_role = resize_roles(f).into_iter().find_map(|(_, r)| {
        policy::allowed_resources(&role_statements(r), "s3:PutObject")
            .into_iter()
            .filter_map(|res| {
                let folder = res.strip_prefix(&root)?.strip_suffix("/*")?.to_owned();
                (!folder.is_empty() && !folder.contains(['*', '?'])).then_some(folder)
            })
            .next()
    });
    let from_rule = || {
        let pattern = rule_pattern(p)?;
        pattern
            .pointer("/detail/object/key")?
            .as_array()?
            .iter()
            .find_map(|c| c.pointer("/anything-but/prefix")?.as_str())
            .map(|s| s.trim_end_matches('/').to_owned())
            .filter(|s| !s.is_empty())
    };
    from_role
        .or_else(from_rule)
        .unwrap_or_else(|| DEFAULT_PREFIX.to_owned())
}

fn rule_pattern(p: &PurgeFacts) -> Option<Value> {
    let text = p.rule.as_ref()?.get("EventPattern")?;
    match text {
        Value::String(s) => serde_json::from_str(s).ok(),
        v => Some(v.clone()),
    }
}

/// The fix for what deploy makes: deploy again.
fn deploy_again(p: &PurgeFacts) -> String {
    format!(
        "run `scalefront deploy` again for bucket {} (it creates or updates stack {} in {}, then gives it this distribution's id)",
        p.bucket, p.stack, p.region
    )
}

/// The fix for a resource of the stack deleted behind CloudFormation's back: an update does not
/// bring it back, a new stack does (it holds no data).
fn recreate(p: &PurgeFacts) -> String {
    let regional =
        p.describe_stack.as_ref().and_then(|v| {
            stack_value(v, "Parameters", "ParameterKey", "ParameterValue", "Resizer")
        }) == Some("true");
    format!(
        "CloudFormation does not recreate what was deleted outside it: aws cloudformation delete-stack --stack-name {} --region {} (it holds no data{}), then run `scalefront deploy` again for bucket {}",
        p.stack,
        p.region,
        if regional { "; regional mode's resize function goes with it until the deploy" } else { "" },
        p.bucket
    )
}

/// The expected rule pattern (`infra/templates/region.yaml`'s `PurgeRule`).
fn template_pattern(bucket: &str, prefix: &str) -> Value {
    json!({"source": ["aws.s3"], "detail-type": [CREATED, DELETED],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"anything-but": {"prefix": format!("{prefix}/")}}]}}})
}

fn put_rule(p: &PurgeFacts, rule: &str, prefix: &str) -> String {
    format!(
        "aws events put-rule --name {rule} --region {} --event-pattern '{}' (it keeps the rule's targets)",
        p.region,
        template_pattern(&p.bucket, prefix)
    )
}

/// Every purge line for this setup.
pub fn checks(f: &Facts) -> Vec<Line> {
    let d = &f.distribution.distribution;
    let Some(p) = &f.purge else {
        let has_bucket = d
            .distribution_config
            .origins
            .items
            .iter()
            .any(|o| s3_origin_bucket(&o.domain_name).is_some());
        return if has_bucket {
            vec![warn(
                "purge-function",
                "the automatic purge (the stack next to the bucket) was not read: facts saved by an older doctor, or a call failed (see collect)",
                "run doctor against the live setup, with --stack NAME",
            )]
        } else {
            Vec::new()
        };
    };
    if p.describe_stack.is_none() {
        let looked = if p.guessed {
            format!(
                "no stack {} in {} (the name scalefront's deploy gives it by default)",
                p.stack, p.region
            )
        } else {
            format!("no stack {} in {}", p.stack, p.region)
        };
        return vec![warn(
            "purge-function",
            format!(
                "{looked}: no automatic purge (a deployment made before it, or a setup by hand) — a replaced or deleted photo in {} keeps its stale variants, stored and cached (a deleted photo stays public through them), until `scalefront purge`",
                p.bucket
            ),
            format!(
                "{}; until then run `scalefront purge KEY…` after replacing or deleting a photo{}",
                deploy_again(p),
                if p.guessed {
                    "; if the stack has another name: scalefront doctor --stack NAME"
                } else {
                    ""
                }
            ),
        )];
    }
    let mut out = vec![function(f, p)];
    let conf = p.function.as_ref().and_then(|lf| lf.configuration.as_ref());
    if conf.is_some() {
        out.extend(permissions(f, p));
    }
    out.extend(events(f, p));
    out
}

fn function(f: &Facts, p: &PurgeFacts) -> Line {
    let id = &f.distribution.distribution.id;
    let status = p.stack_status().unwrap_or("status unknown");
    let Some(name) = p.output(FUNCTION_OUTPUT) else {
        return fail(
            "purge-function",
            format!(
                "stack {} in {} ({status}) names no purge function (no {FUNCTION_OUTPUT} output)",
                p.stack, p.region
            ),
            deploy_again(p),
        );
    };
    let Some(c) = p.function.as_ref().and_then(|lf| lf.configuration.as_ref()) else {
        return fail(
            "purge-function",
            format!(
                "the purge function {name} is not in {} (stack {} is {status}): replaced and deleted photos keep their variants",
                p.region, p.stack
            ),
            recreate(p),
        );
    };
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let handler = c.handler.as_deref().unwrap_or("(none)");
    if handler != HANDLER {
        problems.push(format!(
            "runs handler {handler}, not {HANDLER}: the bootstrap would not purge"
        ));
        fixes.push(format!(
            "aws lambda update-function-configuration --function-name {name} --region {} --handler {HANDLER}",
            p.region
        ));
    }
    let target = c
        .environment
        .as_ref()
        .and_then(|e| e.variables.get(DISTRIBUTION_ENV))
        .map(String::as_str)
        .unwrap_or("");
    if target.is_empty() {
        problems.push(format!("has no {DISTRIBUTION_ENV}: it deletes stored variants but invalidates nothing, so CloudFront serves the old ones until they expire (a deploy stopped before its wire step)"));
    } else if target != id {
        problems.push(format!("invalidates distribution {target} ({DISTRIBUTION_ENV}), not this one, {id}: CloudFront here keeps serving replaced photos' old variants"));
    }
    if target != id {
        let wired = p.describe_stack.as_ref().and_then(|v| {
            stack_value(
                v,
                "Parameters",
                "ParameterKey",
                "ParameterValue",
                "DistributionId",
            )
        });
        // The stack already names this distribution: the function was changed by hand, and
        // deploy's wire step (skipped when the stack has the id) would not touch it.
        fixes.push(if wired == Some(id.as_str()) {
            format!(
                "aws lambda update-function-configuration --function-name {name} --region {} --environment Variables={{{DISTRIBUTION_ENV}={id}}}",
                p.region
            )
        } else {
            deploy_again(p)
        });
    }
    if problems.is_empty() {
        pass(
            "purge-function",
            format!(
                "{name} in {} (handler {HANDLER}) purges bucket {} and invalidates {id}",
                p.region, p.bucket
            ),
        )
    } else {
        fail(
            "purge-function",
            format!("{name} {}", problems.join("; it ")),
            fixes.join("; and "),
        )
    }
}

/// A resource a write may not name: for an object action, one in this bucket outside the variant
/// prefix (or a pattern reaching an original); for a bucket action, the bucket.
fn reaches_originals(action: &str, resource: &str, bucket: &str, prefix: &str) -> bool {
    if BUCKET_WRITES.contains(&action) {
        return policy::wildcard(resource, &format!("arn:aws:s3:::{bucket}"), false);
    }
    let originals = [
        format!("arn:aws:s3:::{bucket}/scalefront-doctor-probe.jpg"),
        format!("arn:aws:s3:::{bucket}/{}", original_key(prefix)),
    ];
    originals
        .iter()
        .any(|o| policy::wildcard(resource, o, false))
        || (resource.starts_with(&format!("arn:aws:s3:::{bucket}/"))
            && !resource.starts_with(&format!("arn:aws:s3:::{bucket}/{prefix}/")))
}

fn permissions(f: &Facts, p: &PurgeFacts) -> Vec<Line> {
    let d = &f.distribution.distribution;
    let lf = p.function.as_ref().expect("checked by the caller");
    let name = lf
        .configuration
        .as_ref()
        .map(|c| c.function_name.as_str())
        .unwrap_or_default();
    let Some(r) = &lf.role else {
        return vec![fail(
            "purge-permissions",
            format!("{name}'s role could not be read"),
            "grant iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy and iam:ListAttachedRolePolicies to run this check",
        )];
    };
    let role = &r.get_role.role.role_name;
    let stmts: Vec<Statement> = role_statements(r);
    let (bucket, prefix) = (&p.bucket, variant_prefix(f, p));
    let mut out = Vec::new();

    // S3: list the bucket, delete under the prefix, nothing else that writes.
    let mut problems = Vec::new();
    // Actions by the resources that reach originals: one phrase per set of resources.
    let mut over: Vec<(String, Vec<&str>)> = Vec::new();
    for action in ORIGINAL_WRITES {
        let on: Vec<String> = policy::allowed_resources(&stmts, action)
            .into_iter()
            .filter(|res| reaches_originals(action, res, bucket, &prefix))
            .collect();
        if on.is_empty() {
            continue;
        }
        let on = on.join(", ");
        match over.iter_mut().find(|(r, _)| *r == on) {
            Some((_, actions)) => actions.push(action),
            None => over.push((on, vec![action])),
        }
    }
    for (on, actions) in over {
        problems.push(format!("may {} on {on}: originals too", actions.join(", ")));
    }
    let variant = format!("arn:aws:s3:::{bucket}/{}", variant_key(&prefix));
    if !policy::allows(&stmts, "s3:DeleteObject", &variant) {
        problems.push(format!(
            "may not s3:DeleteObject under {prefix}/: it cannot delete a single variant"
        ));
    }
    if !policy::allows(&stmts, "s3:ListBucket", &format!("arn:aws:s3:::{bucket}")) {
        problems.push(format!(
            "may not s3:ListBucket on {bucket}: it cannot find an original's variants"
        ));
    }
    out.push(if problems.is_empty() {
        pass(
            "purge-permissions",
            format!(
                "{name}'s role {role} may list {bucket} and delete only under {prefix}/ ({}); it writes no original",
                policy::allowed_resources(&stmts, "s3:DeleteObject").join(", ")
            ),
        )
    } else {
        fail(
            "purge-permissions",
            format!("{name}'s role {role} {}", problems.join("; ")),
            format!(
                "let role {role} have s3:ListBucket on arn:aws:s3:::{bucket} and s3:DeleteObject on arn:aws:s3:::{bucket}/{prefix}/*, nothing more on the bucket, as scalefront's template grants: detach or edit the policies granting more (aws iam list-attached-role-policies / list-role-policies --role-name {role}); a deploy does not undo a change made by hand"
            ),
        )
    });

    // CloudFront: invalidate this distribution, and only it. A `*` resource warns rather than
    // fails: the purge works and no photo is exposed or lost; what is too much is the power to
    // invalidate the account's other distributions (their origins' load, invalidation charges
    // past 1,000 paths a month) — recoverable, unlike an original deleted or overwritten, which
    // is why the S3 line above fails. CreateInvalidation takes a distribution ARN as its resource
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudfront.html).
    let account = d.arn.split(':').nth(4).unwrap_or("123456789012");
    let other = format!("arn:aws:cloudfront::{account}:distribution/EDOCTORPROBE0");
    let action = "cloudfront:CreateInvalidation";
    let on = policy::allowed_resources(&stmts, action);
    out.push(if !policy::allows(&stmts, action, &d.arn) {
        fail(
            "purge-permissions",
            format!(
                "{name}'s role {role} may not {action} on this distribution {}{}: the stored variants go, CloudFront keeps serving the old ones until they expire",
                d.arn,
                if on.is_empty() { String::new() } else { format!(" (only on {})", on.join(", ")) }
            ),
            format!(
                "{}; if the stack already has this distribution's id (the policy was removed by hand): aws iam put-role-policy --role-name {role} --policy-name scalefront-invalidate --policy-document '{}'",
                deploy_again(p),
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": d.arn}]})
            ),
        )
    } else if policy::allows(&stmts, action, &other) {
        warn(
            "purge-permissions",
            format!(
                "{name}'s role {role} may {action} on {}: every distribution of the account, where this one ({}) is all it needs",
                on.join(", "),
                d.arn
            ),
            format!(
                "scope the statement's Resource to {}, as scalefront's template does (aws iam list-attached-role-policies / list-role-policies --role-name {role} show which policy grants it)",
                d.arn
            ),
        )
    } else {
        pass(
            "purge-permissions",
            format!("{name}'s role {role} may {action} on this distribution only"),
        )
    });
    out
}

fn events(f: &Facts, p: &PurgeFacts) -> Vec<Line> {
    let mut out = Vec::new();
    let bucket = &p.bucket;

    // The bucket sends its object events to EventBridge.
    out.push(match &p.notification {
        None => fail(
            "purge-events",
            format!("the notification configuration of bucket {bucket} could not be read"),
            "grant s3:GetBucketNotification to run this check",
        ),
        Some(n) if n.get("EventBridgeConfiguration").is_some() => pass(
            "purge-events",
            format!("bucket {bucket} sends its object events to EventBridge"),
        ),
        Some(n) => {
            let merged = crate::deploy::with_eventbridge(Some(n)).unwrap_or_else(|| n.clone());
            fail(
                "purge-events",
                format!("bucket {bucket} does not send its events to EventBridge: the purge's rule never fires, replaced and deleted photos keep their variants"),
                format!(
                    "{}; or by hand, keeping its other notifications: aws s3api put-bucket-notification-configuration --bucket {bucket} --region {} --notification-configuration '{merged}'",
                    deploy_again(p),
                    p.region
                ),
            )
        }
    });

    // The rule: enabled, matching a replaced and a deleted original, never a variant.
    let Some(arn) = p.output(RULE_OUTPUT) else {
        out.push(fail(
            "purge-events",
            format!(
                "stack {} ({}) names no rule (no {RULE_OUTPUT} output)",
                p.stack,
                p.stack_status().unwrap_or("status unknown")
            ),
            deploy_again(p),
        ));
        return out;
    };
    let rule = rule_name(arn)
        .map(|(_, n)| n)
        .unwrap_or_else(|| arn.to_owned());
    let Some(r) = &p.rule else {
        out.push(fail(
            "purge-events",
            format!(
                "the purge's rule {rule} is not in {}: nothing runs the purge",
                p.region
            ),
            recreate(p),
        ));
        return out;
    };
    let prefix = variant_prefix(f, p);
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let state = r.get("State").and_then(Value::as_str).unwrap_or("?");
    // ENABLED, or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS (API_PutRule, State).
    if !state.starts_with("ENABLED") {
        problems.push(format!("is {state}: nothing runs the purge"));
        fixes.push(format!(
            "aws events enable-rule --name {rule} --region {}",
            p.region
        ));
    }
    let mut unknown = false;
    let mut matches_variants = false;
    let pattern_problems = problems.len();
    match rule_pattern(p) {
        None => problems.push("has no event pattern S3's events could match".to_owned()),
        Some(pattern) => {
            let original = original_key(&prefix);
            let probe = |t: &str, key: &str| {
                pattern_matches(&pattern, Some(&s3_event(t, bucket, &p.region, key)))
            };
            for (t, what) in [
                (CREATED, "a replaced photo keeps its old variants"),
                (DELETED, "a deleted photo's variants stay stored and public"),
            ] {
                match probe(t, &original) {
                    Some(true) => {}
                    None => unknown = true,
                    Some(false) => problems.push(format!(
                        "does not match {t} of {original} in {bucket} ({}): {what}",
                        why_not(&pattern, t, bucket, &original)
                    )),
                }
            }
            let variant = variant_key(&prefix);
            matches_variants = [CREATED, DELETED]
                .iter()
                .any(|t| probe(t, &variant) == Some(true));
        }
    }
    if problems.len() > pattern_problems {
        fixes.push(put_rule(p, &rule, &prefix));
    }
    out.push(if !problems.is_empty() {
        fail(
            "purge-events",
            format!("the purge's rule {rule} {}", problems.join("; it ")),
            fixes.join("; or "),
        )
    } else if matches_variants {
        // The function drops keys under the prefix itself, so nothing loops and no variant is
        // purged for nothing: what it costs is an invocation for every variant the resize
        // function stores and every one the purge deletes, in the region where regional mode's
        // resize runs, on the same concurrency.
        warn(
            "purge-events",
            format!("the purge's rule {rule} does not leave out the variant prefix {prefix}/: every variant stored, and each one the purge deletes, runs the purge once more for nothing (it ignores them, at the price of an invocation each, sharing the region's Lambda concurrency)"),
            put_rule(p, &rule, &prefix),
        )
    } else if unknown {
        pass(
            "purge-events",
            format!("the purge's rule {rule} is {state}; its pattern uses operators doctor does not evaluate, so whether it matches this bucket's originals was not checked"),
        )
    } else {
        pass(
            "purge-events",
            format!("the purge's rule {rule} is {state}, takes {CREATED} and {DELETED} of {bucket}'s originals and leaves out {prefix}/"),
        )
    });

    // The rule runs the function, which lets EventBridge invoke it from that rule.
    let Some(lf) = p.function.as_ref().filter(|lf| lf.configuration.is_some()) else {
        return out; // purge-function says it is missing
    };
    let c = lf.configuration.as_ref().expect("filtered");
    let unqualified = |a: &str| -> String {
        match super::facts::LambdaArn::parse(a) {
            Some(l) => format!(
                "arn:aws:lambda:{}:{}:function:{}",
                l.region, l.account, l.name
            ),
            None => a.to_owned(),
        }
    };
    let function_arn = unqualified(&c.function_arn);
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    match &p.targets {
        None => {
            problems.push(format!("the targets of rule {rule} could not be read"));
            fixes.push("grant events:ListTargetsByRule to run this check".to_owned());
        }
        Some(t) => {
            let targets: Vec<&str> = t
                .get("Targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("Arn").and_then(Value::as_str))
                .collect();
            if !targets.iter().any(|a| unqualified(a) == function_arn) {
                problems.push(format!(
                    "rule {rule} does not run {} (its targets: {})",
                    c.function_name,
                    if targets.is_empty() {
                        "none".to_owned()
                    } else {
                        targets.join(", ")
                    }
                ));
                fixes.push(format!(
                    "aws events put-targets --rule {rule} --region {} --targets Id=purge,Arn={function_arn}",
                    p.region
                ));
            }
        }
    }
    let stmts = lf
        .policy
        .as_ref()
        .and_then(|v| v.get("Policy"))
        .map(policy::statements)
        .unwrap_or_default();
    let invokes = stmts.iter().any(|s| {
        s.allow
            && s.covers_action("lambda:InvokeFunction")
            && s.has_principal("Service", "events.amazonaws.com")
            && (s.source_arns.is_empty()
                || s.source_arns
                    .iter()
                    .any(|a| policy::wildcard(a, arn, false)))
    });
    if !invokes {
        problems.push(format!(
            "{} does not let events.amazonaws.com lambda:InvokeFunction from {arn}: EventBridge's every attempt is refused",
            c.function_name
        ));
        fixes.push(format!(
            "aws lambda add-permission --function-name {} --region {} --statement-id scalefront-purge-rule --action lambda:InvokeFunction --principal events.amazonaws.com --source-arn {arn}",
            c.function_name, p.region
        ));
    }
    out.push(if problems.is_empty() {
        pass(
            "purge-events",
            format!(
                "rule {rule} runs {}, which lets EventBridge invoke it from that rule",
                c.function_name
            ),
        )
    } else {
        fail("purge-events", problems.join("; "), fixes.join("; and "))
    });
    out
}

/// Which part of the pattern turns away an S3 event of `detail_type` for `key` in `bucket`.
fn why_not(pattern: &Value, detail_type: &str, bucket: &str, key: &str) -> String {
    let field = |path: &[&str], value: Value| -> bool {
        let mut p = pattern;
        for k in path {
            match p.get(k) {
                Some(next) => p = next,
                None => return true, // no condition on it
            }
        }
        match p.as_array() {
            Some(conditions) => leaf(conditions, Some(&value)) != Some(false),
            None => true,
        }
    };
    let mut why = Vec::new();
    if !field(&["source"], json!("aws.s3")) {
        why.push("its source is not aws.s3".to_owned());
    }
    if !field(&["detail-type"], json!(detail_type)) {
        why.push(format!("its detail-type leaves out {detail_type}"));
    }
    if !field(&["detail", "bucket", "name"], json!(bucket)) {
        why.push(format!(
            "it names another bucket ({})",
            pattern
                .pointer("/detail/bucket/name")
                .map(Value::to_string)
                .unwrap_or_default()
        ));
    }
    if !field(&["detail", "object", "key"], json!(key)) {
        why.push("its key filter leaves out originals".to_owned());
    }
    if why.is_empty() {
        "its pattern turns the event away".to_owned()
    } else {
        why.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_pattern() -> Value {
        json!({"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"],
            "detail": {"bucket": {"name": ["b"]}, "object": {"key": [{"anything-but": {"prefix": "_sf/"}}]}}})
    }

    #[test]
    fn reads_patterns_as_eventbridge_does() {
        let p = template_pattern();
        let ev = |t: &str, b: &str, k: &str| s3_event(t, b, "eu-west-1", k);
        assert_eq!(
            pattern_matches(&p, Some(&ev("Object Created", "b", "photos/a.jpg"))),
            Some(true)
        );
        assert_eq!(
            pattern_matches(&p, Some(&ev("Object Deleted", "b", "a.jpg"))),
            Some(true)
        );
        assert_eq!(
            pattern_matches(&p, Some(&ev("Object Deleted", "b", "_sf/a.jpg/g1/w.webp"))),
            Some(false)
        );
        assert_eq!(
            pattern_matches(&p, Some(&ev("Object Created", "other", "a.jpg"))),
            Some(false)
        );
        assert_eq!(
            pattern_matches(&p, Some(&ev("Object Restore Completed", "b", "a.jpg"))),
            Some(false)
        );
        // Operators: anything-but a list, suffix, exists, $or, and one not read here.
        let q = json!({"detail": {"object": {"key": [{"anything-but": ["x.jpg"]}], "size": [{"exists": true}]}}});
        assert_eq!(
            pattern_matches(&q, Some(&ev("Object Created", "b", "a.jpg"))),
            Some(true)
        );
        assert_eq!(
            pattern_matches(&q, Some(&ev("Object Deleted", "b", "a.jpg"))),
            Some(false)
        );
        let or = json!({"$or": [{"detail": {"object": {"key": [{"suffix": ".png"}]}}}, {"detail-type": ["Object Deleted"]}]});
        assert_eq!(
            pattern_matches(&or, Some(&ev("Object Deleted", "b", "a.jpg"))),
            Some(true)
        );
        assert_eq!(
            pattern_matches(&or, Some(&ev("Object Created", "b", "a.jpg"))),
            Some(false)
        );
        let numeric = json!({"detail": {"object": {"size": [{"numeric": [">", 0]}]}}});
        assert_eq!(
            pattern_matches(&numeric, Some(&ev("Object Created", "b", "a.jpg"))),
            None
        );
    }

    #[test]
    fn rule_arns() {
        assert_eq!(
            rule_name("arn:aws:events:eu-west-1:123456789012:rule/sf-PurgeRule-1"),
            Some((None, "sf-PurgeRule-1".to_owned()))
        );
        assert_eq!(
            rule_name("arn:aws:events:eu-west-1:123456789012:rule/bus/r"),
            Some((Some("bus".to_owned()), "r".to_owned()))
        );
        assert_eq!(rule_name("arn:aws:lambda:eu-west-1:1:function:f"), None);
    }

    #[test]
    fn originals_are_outside_the_prefix() {
        for (r, reaches) in [
            ("arn:aws:s3:::b/_sf/*", false),
            ("arn:aws:s3:::b/*", true),
            ("*", true),
            ("arn:aws:s3:::b*", true),
            ("arn:aws:s3:::b/_sf*", true),
            ("arn:aws:s3:::b/albums/*", true),
            ("arn:aws:s3:::other/*", false),
            ("arn:aws:s3:::*/_sf/*", false),
        ] {
            assert_eq!(
                reaches_originals("s3:DeleteObject", r, "b", "_sf"),
                reaches,
                "{r}"
            );
        }
        assert!(!reaches_originals(
            "s3:PutObject",
            "arn:aws:s3:::b",
            "b",
            "_sf"
        ));
        assert!(reaches_originals(
            "s3:PutLifecycleConfiguration",
            "arn:aws:s3:::b",
            "b",
            "_sf"
        ));
        assert!(!reaches_originals(
            "s3:PutLifecycleConfiguration",
            "arn:aws:s3:::b/_sf/*",
            "b",
            "_sf"
        ));
    }
}
