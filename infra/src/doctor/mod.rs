//! `scalefront doctor`: read a live setup, check it, say what is wrong and how to fix it.
//!
//! Three stages, so the checks can be tested on recorded API responses: [`collect`] (AWS calls →
//! [`Facts`]), [`checks::run`] (pure), [`report`] (text).
pub mod checks;
pub mod collect;
pub mod domain;
pub mod facts;
pub mod purge;

pub use checks::{Line, CHECKS};
pub use collect::{collect, Target, EDGE_REGIONS};
pub use facts::Facts;

/// One line per check: `ok`/`WARN`/`FAIL`, the check's name, what was found, and for a warning or
/// a failure the fix; then a summary counting failures and warnings apart.
pub fn report(facts: &Facts, lines: &[Line]) -> String {
    let d = &facts.distribution.distribution;
    let mut out = format!(
        "scalefront doctor: distribution {} ({})\n",
        d.id, d.domain_name
    );
    let width = lines.iter().map(|l| l.check.len()).max().unwrap_or(0);
    for l in lines {
        let mark = match (l.ok, l.warn) {
            (false, _) => "FAIL",
            (true, true) => "WARN",
            (true, false) => "ok  ",
        };
        out.push_str(&format!("{mark} {:width$}  {}", l.check, l.message));
        if !l.ok || l.warn {
            out.push_str(&format!(" — fix: {}", l.fix));
        }
        out.push('\n');
    }
    let bad = lines.iter().filter(|l| !l.ok).count();
    let warnings = lines.iter().filter(|l| l.ok && l.warn).count();
    let n = lines.len();
    out.push_str(&match (bad, warnings) {
        (0, 0) => format!("doctor: all {n} checks fine\n"),
        (0, w) => format!("doctor: no problems among {n} checks, {w} warning(s)\n"),
        (b, 0) => format!("doctor: {b} problem(s) among {n} checks\n"),
        (b, w) => format!("doctor: {b} problem(s) among {n} checks, and {w} warning(s)\n"),
    });
    out
}

/// `doctor --set-log-retention DAYS`: gives every log group the facts found (Lambda@Edge's
/// `/aws/lambda/us-east-1.<name>` in each region it ran in, and a function's own group) a
/// retention of `days`, saying each change, and records the new retentions in `facts` so the
/// report shows them. Returns the changes made.
pub fn set_log_retention(
    aws: &crate::aws::Aws,
    facts: &mut Facts,
    days: u32,
    say: &mut dyn FnMut(&str),
) -> anyhow::Result<Vec<crate::logs::Change>> {
    let days = crate::logs::check_days(days)?;
    let mut groups: Vec<crate::logs::LogGroup> = Vec::new();
    for a in facts.lambdas.values().flat_map(|l| &l.activity) {
        for g in &a.log_groups {
            let group = crate::logs::LogGroup {
                region: a.region.clone(),
                name: g.clone(),
                retention_days: a.retention.get(g).copied().flatten(),
            };
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
    }
    let changes = crate::logs::plan(&groups, days);
    if changes.is_empty() {
        say(&format!(
            "log retention: {} log group(s) already keep {days} days",
            groups.len()
        ));
    }
    crate::logs::apply(aws, &changes, say)?;
    for a in facts.lambdas.values_mut().flat_map(|l| &mut l.activity) {
        for c in changes.iter().filter(|c| c.region == a.region) {
            if a.log_groups.contains(&c.name) {
                a.retention.insert(c.name.clone(), Some(c.to));
            }
        }
    }
    Ok(changes)
}
