//! CloudFormation through change sets: prepare one (create and update alike), print what it will
//! change, execute it and follow the stack's events until it settles. Used for the stack in
//! us-east-1 and, in regional mode, the function's stack in the bucket's region.
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::Value;

use crate::aws::{Aws, ErrorKind};

/// A stack, where it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackRef {
    pub name: String,
    pub region: String,
}

impl StackRef {
    pub fn new(name: &str, region: &str) -> StackRef {
        StackRef {
            name: name.to_owned(),
            region: region.to_owned(),
        }
    }

    fn call(&self, aws: &Aws, op: &str, extra: &[&str]) -> Result<Value> {
        let mut args = vec!["cloudformation", op, "--stack-name", &self.name];
        args.extend_from_slice(extra);
        Ok(aws.call(&self.region, &args)?)
    }

    /// The stack's status and outputs; `None`: no such stack.
    pub fn describe(&self, aws: &Aws) -> Result<Option<Described>> {
        match self.call(aws, "describe-stacks", &[]) {
            Ok(v) => Ok(Some(Described::from(&v))),
            Err(e) => match e.downcast_ref::<crate::aws::AwsError>() {
                Some(a) if a.kind == ErrorKind::NotFound => Ok(None),
                _ => Err(e),
            },
        }
    }
}

/// What `describe-stacks` says of one stack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Described {
    pub status: String,
    pub reason: String,
    pub outputs: Vec<(String, String)>,
    pub parameters: Vec<(String, String)>,
}

impl Described {
    pub fn from(v: &Value) -> Described {
        let s = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let pairs = |list: &str, k: &str, val: &str| {
            v.pointer(&format!("/Stacks/0/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|o| {
                    let g = |f: &str| o.get(f).and_then(Value::as_str).unwrap_or("").to_owned();
                    (g(k), g(val))
                })
                .collect()
        };
        Described {
            status: s("/Stacks/0/StackStatus"),
            reason: s("/Stacks/0/StackStatusReason"),
            outputs: pairs("Outputs", "OutputKey", "OutputValue"),
            parameters: pairs("Parameters", "ParameterKey", "ParameterValue"),
        }
    }

    pub fn output(&self, key: &str) -> Option<&str> {
        find(&self.outputs, key)
    }

    pub fn parameter(&self, key: &str) -> Option<&str> {
        find(&self.parameters, key)
    }
}

fn find<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Whether deploy may go on with a stack in `status` (`None`: no stack), and if so whether it
/// creates (`true`) or updates it.
pub fn creates(stack: &StackRef, status: Option<&str>) -> Result<bool> {
    match status {
        None => Ok(true),
        Some("ROLLBACK_COMPLETE") => bail!("stack {} failed to create earlier and is in ROLLBACK_COMPLETE: delete it (aws cloudformation delete-stack --stack-name {} --region {}) and deploy again", stack.name, stack.name, stack.region),
        // A create change set that was never executed leaves an empty stack in review: create again.
        Some("REVIEW_IN_PROGRESS") => Ok(true),
        Some(s) if s.ends_with("_IN_PROGRESS") => bail!("stack {} is busy ({s}); wait for it to finish (or run doctor) and deploy again", stack.name),
        Some(_) => Ok(false),
    }
}

/// A change set ready to run; `None` from [`prepare`]: the stack is already as the template says.
#[derive(Clone, Debug)]
pub struct ChangeSet {
    pub name: String,
    pub create: bool,
    pub changes: usize,
}

/// Creates a change set for `template` with `params` and waits until it is ready, printing each
/// planned change.
pub fn prepare(
    aws: &Aws,
    stack: &StackRef,
    status: Option<&str>,
    template: &Path,
    params: &[(&str, String)],
    say: &mut dyn FnMut(&str),
) -> Result<Option<ChangeSet>> {
    let create = creates(stack, status)?;
    let name = format!(
        "scalefront-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    );
    let template_arg = format!("file://{}", template.display());
    let params: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("ParameterKey={k},ParameterValue={v}"))
        .collect();
    let mut args: Vec<&str> = vec![
        "--change-set-name",
        &name,
        "--change-set-type",
        if create { "CREATE" } else { "UPDATE" },
        "--template-body",
        &template_arg,
        "--capabilities",
        "CAPABILITY_IAM",
        "--parameters",
    ];
    args.extend(params.iter().map(String::as_str));
    say(&format!(
        "{} stack {} in {}",
        if create { "creating" } else { "updating" },
        stack.name,
        stack.region
    ));
    if let Err(e) = stack.call(aws, "create-change-set", &args) {
        // CloudFormation says "no changes" on the change set's status; some endpoints (moto)
        // refuse the create itself with UpdateStack's words. Either way nothing is to be done.
        if e.to_string().contains("No updates are to be performed") {
            say(&format!("stack {} is already up to date", stack.name));
            return Ok(None);
        }
        return Err(e);
    }
    let started = Instant::now();
    loop {
        let cs = stack.call(aws, "describe-change-set", &["--change-set-name", &name])?;
        let status = cs.get("Status").and_then(Value::as_str).unwrap_or("");
        if status == "CREATE_COMPLETE" {
            let changes = cs
                .get("Changes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            say(&format!(
                "change set ready: {} resource change(s)",
                changes.len()
            ));
            for c in &changes {
                say(&change_line(c));
            }
            return Ok(Some(ChangeSet {
                name,
                create,
                changes: changes.len(),
            }));
        }
        if status == "FAILED" {
            let reason = cs.get("StatusReason").and_then(Value::as_str).unwrap_or("");
            if reason.contains("didn't contain changes") || reason.contains("No updates") {
                say(&format!("stack {} is already up to date", stack.name));
                let _ = stack.call(aws, "delete-change-set", &["--change-set-name", &name]);
                return Ok(None);
            }
            bail!(
                "CloudFormation refused the change: {reason}{}",
                hint(reason).map(|h| format!(" ({h})")).unwrap_or_default()
            );
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the change set did not become ready in 5 minutes (status {status})");
        }
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// Executes a prepared change set and follows the stack until it settles.
pub fn execute(
    aws: &Aws,
    stack: &StackRef,
    set: &ChangeSet,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    // Events already there (an update's history) are not news.
    let seen = if set.create {
        BTreeSet::new()
    } else {
        stack_events(aws, stack)?.iter().map(event_id).collect()
    };
    stack.call(aws, "execute-change-set", &["--change-set-name", &set.name])?;
    wait(aws, stack, seen, say)
}

/// Polls the stack's events until it settles, printing each new event; a heartbeat every 30 s.
fn wait(
    aws: &Aws,
    stack: &StackRef,
    mut seen: BTreeSet<String>,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let started = Instant::now();
    let mut last_note = Instant::now();
    // Executing a change set is asynchronous: right after it, an update's stack may still show
    // its old *_COMPLETE. A final status counts only once the stack has moved (a new event, or
    // an *_IN_PROGRESS status), read after the events that moved it.
    let mut moved = false;
    let print_fresh = |seen: &mut BTreeSet<String>, say: &mut dyn FnMut(&str)| -> Result<bool> {
        let mut fresh: Vec<Value> = stack_events(aws, stack)?
            .into_iter()
            .filter(|e| seen.insert(event_id(e)))
            .collect();
        fresh.reverse(); // oldest first
        for e in &fresh {
            say(&event_line(e));
            let reason = e
                .get("ResourceStatusReason")
                .and_then(Value::as_str)
                .unwrap_or("");
            let failed = e
                .get("ResourceStatus")
                .and_then(Value::as_str)
                .is_some_and(|s| s.ends_with("_FAILED"));
            if let Some(h) = hint(reason).filter(|_| failed) {
                say(&format!("    → {h}"));
            }
        }
        Ok(!fresh.is_empty())
    };
    loop {
        moved |= print_fresh(&mut seen, say)?;
        let d = stack.describe(aws)?.unwrap_or_default();
        moved |= d.status.ends_with("_IN_PROGRESS") && d.status != "REVIEW_IN_PROGRESS";
        let settled = d.status.ends_with("_COMPLETE") || d.status.ends_with("_FAILED");
        if settled && moved {
            // The events that led to the final status, printed before it.
            print_fresh(&mut seen, say)?;
        }
        if settled && moved {
            if ["CREATE_COMPLETE", "UPDATE_COMPLETE"].contains(&d.status.as_str()) {
                say(&format!(
                    "stack {}: {} after {}s",
                    stack.name,
                    d.status,
                    started.elapsed().as_secs()
                ));
                return Ok(());
            }
            bail!("stack {} ended in {} {}: the events above say which resource failed and why; `scalefront doctor --stack {}` checks the parts that exist", stack.name, d.status, d.reason, stack.name);
        }
        if last_note.elapsed() > Duration::from_secs(30) {
            say(&format!(
                "  … {}, {} min {} s so far (CloudFront distributions take 5-15 minutes)",
                d.status,
                started.elapsed().as_secs() / 60,
                started.elapsed().as_secs() % 60
            ));
            last_note = Instant::now();
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// The stack's latest events, newest first (none for a stack that is gone: a deletion's last
/// answer). `stack.name` may be the stack's id, which outlives its deletion.
pub fn stack_events(aws: &Aws, stack: &StackRef) -> Result<Vec<Value>> {
    let args = [
        "cloudformation",
        "describe-stack-events",
        "--stack-name",
        &stack.name,
        "--max-items",
        "100",
    ];
    let v = aws.call_opt(&stack.region, &args)?;
    Ok(v.as_ref()
        .and_then(|v| v.get("StackEvents"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// An event's id, to print each event once.
pub fn event_id(e: &Value) -> String {
    e.get("EventId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// One progress line for a stack event.
pub fn event_line(ev: &Value) -> String {
    let s = |k: &str| ev.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let time = s("Timestamp");
    let time = time.get(11..19).unwrap_or(&time).to_owned();
    let reason = s("ResourceStatusReason");
    let mut line = format!(
        "  {time}  {:<32} {}",
        s("LogicalResourceId"),
        s("ResourceStatus")
    );
    if !reason.is_empty() && reason != "Resource creation Initiated" {
        line.push_str(&format!("  {reason}"));
    }
    line
}

/// One planned change: `  Add OriginResponseFunction (AWS::Lambda::Function)`, with "replaced" when
/// CloudFormation will make a new one (for the Lambda version: a new version number).
pub fn change_line(change: &Value) -> String {
    let rc = change.get("ResourceChange").unwrap_or(&Value::Null);
    let s = |k: &str| rc.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut line = format!(
        "  {} {} ({})",
        s("Action"),
        s("LogicalResourceId"),
        s("ResourceType")
    );
    if s("Replacement") == "True" {
        line.push_str(", replaced");
    }
    line
}

/// Plain-words hints for stack failure reasons AWS words obscurely.
pub fn hint(reason: &str) -> Option<String> {
    if let Some((_, rest)) = reason.split_once("not authorized to perform: ") {
        let perm = rest
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches([',', '.']);
        return Some(format!(
            "missing permission {perm}: grant it to the identity you deploy with (infra/policies/deployer.json lists them all)"
        ));
    }
    let r = reason.to_lowercase();
    if r.contains("already exists") {
        return Some("a resource of that name already exists (another stack with the same --stack on another bucket?): pick another --stack, or delete the old one".into());
    }
    if r.contains("replicat") {
        return Some("Lambda@Edge replicas are still being removed; CloudFront frees them hours after the distribution stops using them. Retry later".into());
    }
    if r.contains("s3 error") || r.contains("nosuchkey") || r.contains("nosuchbucket") {
        return Some("Lambda could not read the uploaded package: the artifacts bucket must be in the function's region and hold the key".into());
    }
    if r.contains("cname") || r.contains("cnamealreadyexists") {
        return Some("the alias is used by another distribution".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_and_hints() {
        let ev = json!({"Timestamp": "2026-11-25T05:01:02.123Z", "LogicalResourceId": "Distribution", "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "User: arn:aws:iam::1:user/me is not authorized to perform: cloudfront:CreateDistribution on resource"});
        let line = event_line(&ev);
        assert!(
            line.contains("05:01:02")
                && line.contains("Distribution")
                && line.contains("CREATE_FAILED"),
            "{line}"
        );
        assert!(hint(ev["ResourceStatusReason"].as_str().unwrap())
            .unwrap()
            .starts_with("missing permission cloudfront:CreateDistribution: grant it"));
        let s = StackRef::new("sf", "us-east-1");
        assert!(creates(&s, None).unwrap());
        assert!(creates(&s, Some("REVIEW_IN_PROGRESS")).unwrap());
        assert!(!creates(&s, Some("UPDATE_ROLLBACK_COMPLETE")).unwrap());
        assert!(creates(&s, Some("ROLLBACK_COMPLETE"))
            .unwrap_err()
            .to_string()
            .contains("delete-stack --stack-name sf --region us-east-1"));
        assert!(creates(&s, Some("UPDATE_IN_PROGRESS"))
            .unwrap_err()
            .to_string()
            .contains("busy"));
        let d = Described::from(
            &json!({"Stacks": [{"StackStatus": "CREATE_COMPLETE", "Outputs": [{"OutputKey": "DistributionId", "OutputValue": "E1"}], "Parameters": [{"ParameterKey": "DistributionArn", "ParameterValue": ""}]}]}),
        );
        assert_eq!(
            (
                d.output("DistributionId"),
                d.parameter("DistributionArn"),
                d.output("x")
            ),
            (Some("E1"), Some(""), None)
        );
    }
}
