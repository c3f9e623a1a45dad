//! Retention of the Lambda@Edge log groups. Lambda@Edge writes `/aws/lambda/us-east-1.<function>`
//! in the region nearest the edge that ran it (docs/platform.md §4), so one function leaves a log
//! group in every region it ran in, each created by Lambda without a retention policy, so its
//! events never expire (a group's `retentionInDays` is absent until a policy is put; "To set a log
//! group so that its log events do not expire, use DeleteRetentionPolicy":
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html>).
//!
//! Finding the groups ([`find`]) and changing them ([`apply`]) are I/O; which group needs which
//! call is [`plan`], pure. [`set_retention`] is the three together for one function, as deploy
//! and `doctor --set-log-retention` use it.
use std::fmt;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::aws::Aws;
use crate::doctor::EDGE_REGIONS;

/// The retentions CloudWatch Logs accepts, in days ("PutRetentionPolicy", retentionInDays:
/// <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html>).
pub const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// The group Lambda@Edge replicas of `function` log to, in whichever region ran them.
pub fn edge_group(function: &str) -> String {
    format!("/aws/lambda/us-east-1.{function}")
}

/// `days` if CloudWatch Logs takes it, else an error listing what it takes.
pub fn check_days(days: u32) -> anyhow::Result<u32> {
    if RETENTION_DAYS.contains(&days) {
        return Ok(days);
    }
    let list: Vec<String> = RETENTION_DAYS.iter().map(u32::to_string).collect();
    bail!(
        "CloudWatch Logs keeps log events for one of {} days, not {days}",
        list.join(", ")
    )
}

/// A log group as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroup {
    pub region: String,
    pub name: String,
    /// `None`: the events never expire.
    pub retention_days: Option<u32>,
}

/// One `put-retention-policy` to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub region: String,
    pub name: String,
    pub from: Option<u32>,
    pub to: u32,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = match self.from {
            None => "never expires".to_owned(),
            Some(d) => format!("{d} days"),
        };
        write!(
            f,
            "{} in {}: {from} → {} days",
            self.name, self.region, self.to
        )
    }
}

/// The calls that give every group in `groups` a retention of `days`: one per group that has none
/// or another one, in the order given.
pub fn plan(groups: &[LogGroup], days: u32) -> Vec<Change> {
    groups
        .iter()
        .filter(|g| g.retention_days != Some(days))
        .map(|g| Change {
            region: g.region.clone(),
            name: g.name.clone(),
            from: g.retention_days,
            to: days,
        })
        .collect()
}

/// The groups named exactly `name` in each of `regions` (regions in parallel), with the calls
/// that failed (a region the account has not enabled answers with a credentials error: one
/// message, not one per region).
pub fn find(aws: &Aws, name: &str, regions: &[&str]) -> (Vec<LogGroup>, Vec<String>) {
    let results: Vec<Result<Option<LogGroup>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = regions
            .iter()
            .map(|region| {
                s.spawn(move || {
                    let v = aws
                        .call(
                            region,
                            &[
                                "logs",
                                "describe-log-groups",
                                "--log-group-name-prefix",
                                name,
                            ],
                        )
                        .map_err(|e| e.to_string())?;
                    Ok(groups_in(&v, region).into_iter().find(|g| g.name == name))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("log group lookup panicked".into()))
            })
            .collect()
    });
    let mut groups = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for r in results {
        match r {
            Ok(g) => groups.extend(g),
            Err(e) if !errors.contains(&e) => errors.push(e),
            Err(_) => {}
        }
    }
    (groups, errors)
}

/// The groups of a `describe-log-groups` answer (`retentionInDays` is absent when the events never
/// expire).
pub fn groups_in(v: &Value, region: &str) -> Vec<LogGroup> {
    v.get("logGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| {
            Some(LogGroup {
                region: region.to_owned(),
                name: g.get("logGroupName")?.as_str()?.to_owned(),
                retention_days: g
                    .get("retentionInDays")
                    .and_then(Value::as_u64)
                    .map(|d| d as u32),
            })
        })
        .collect()
}

/// Makes the changes, saying each one as it is made.
pub fn apply(aws: &Aws, changes: &[Change], say: &mut dyn FnMut(&str)) -> anyhow::Result<()> {
    for c in changes {
        let days = c.to.to_string();
        aws.call(
            &c.region,
            &[
                "logs",
                "put-retention-policy",
                "--log-group-name",
                &c.name,
                "--retention-in-days",
                &days,
            ],
        )
        .with_context(|| format!("setting the retention of {} in {}", c.name, c.region))?;
        say(&format!("log retention: {c}"));
    }
    Ok(())
}

/// Gives every Lambda@Edge log group of `function` (in [`EDGE_REGIONS`]) a retention of `days`,
/// saying each change; returns the changes made (none when all already keep `days`). A region
/// that could not be read is said and skipped (its groups, if any, stay as they are); a change
/// that fails is an error.
pub fn set_retention(
    aws: &Aws,
    function: &str,
    days: u32,
    say: &mut dyn FnMut(&str),
) -> anyhow::Result<Vec<Change>> {
    let days = check_days(days)?;
    let (groups, errors) = find(aws, &edge_group(function), EDGE_REGIONS);
    for e in &errors {
        say(&format!("log retention: skipped a region: {e}"));
    }
    let changes = plan(&groups, days);
    if changes.is_empty() {
        say(&format!(
            "log retention: {} log group(s) of {function} already keep {days} days",
            groups.len()
        ));
    }
    apply(aws, &changes, say)?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn g(region: &str, days: Option<u32>) -> LogGroup {
        LogGroup {
            region: region.into(),
            name: edge_group("sf"),
            retention_days: days,
        }
    }

    #[test]
    fn plans_a_call_for_each_group_without_that_retention() {
        let groups = [
            g("eu-west-1", None),
            g("eu-central-1", Some(30)),
            g("us-east-1", Some(3653)),
        ];
        let changes = plan(&groups, 30);
        assert_eq!(
            changes
                .iter()
                .map(|c| (c.region.as_str(), c.from))
                .collect::<Vec<_>>(),
            [("eu-west-1", None), ("us-east-1", Some(3653))]
        );
        assert_eq!(
            changes[0].to_string(),
            "/aws/lambda/us-east-1.sf in eu-west-1: never expires → 30 days"
        );
        assert_eq!(
            changes[1].to_string(),
            "/aws/lambda/us-east-1.sf in us-east-1: 3653 days → 30 days"
        );
        assert!(plan(&groups[1..2], 30).is_empty());
        assert!(plan(&[], 30).is_empty());
    }

    #[test]
    fn only_retentions_cloudwatch_takes() {
        assert_eq!(check_days(30).unwrap(), 30);
        let e = check_days(31).unwrap_err().to_string();
        assert!(e.contains("not 31") && e.contains(", 30, "), "{e}");
        assert!(check_days(0).is_err());
    }

    #[test]
    fn reads_describe_log_groups() {
        // The shape of DescribeLogGroups: retentionInDays only when one is set.
        let v = json!({"logGroups": [
            {"logGroupName": "/aws/lambda/us-east-1.sf", "creationTime": 1, "metricFilterCount": 0, "storedBytes": 10},
            {"logGroupName": "/aws/lambda/us-east-1.sf-other", "retentionInDays": 7}
        ]});
        assert_eq!(
            groups_in(&v, "eu-west-1"),
            [
                g("eu-west-1", None),
                LogGroup {
                    region: "eu-west-1".into(),
                    name: "/aws/lambda/us-east-1.sf-other".into(),
                    retention_days: Some(7)
                }
            ]
        );
        assert!(groups_in(&json!({}), "eu-west-1").is_empty());
    }
}
