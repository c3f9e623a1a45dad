//! `scalefront doctor`: read a live setup, check it, say what is wrong and how to fix it.
//!
//! Three stages, so the checks can be tested on recorded API responses: [`collect`] (AWS calls →
//! [`Facts`]), [`checks::run`] (pure), [`report`] (text).
pub mod checks;
pub mod collect;
pub mod facts;

pub use checks::{Line, CHECKS};
pub use collect::{collect, Target, EDGE_REGIONS};
pub use facts::Facts;

/// One line per check: `ok`/`FAIL`, the check's name, what was found, and for a failure the fix.
pub fn report(facts: &Facts, lines: &[Line]) -> String {
    let d = &facts.distribution.distribution;
    let mut out = format!(
        "scalefront doctor: distribution {} ({})\n",
        d.id, d.domain_name
    );
    let width = lines.iter().map(|l| l.check.len()).max().unwrap_or(0);
    for l in lines {
        let mark = if l.ok { "ok  " } else { "FAIL" };
        out.push_str(&format!("{mark} {:width$}  {}", l.check, l.message));
        if !l.ok {
            out.push_str(&format!(" — fix: {}", l.fix));
        }
        out.push('\n');
    }
    let bad = lines.iter().filter(|l| !l.ok).count();
    if bad == 0 {
        out.push_str(&format!("doctor: all {} checks fine\n", lines.len()));
    } else {
        out.push_str(&format!(
            "doctor: {bad} problem(s) among {} checks\n",
            lines.len()
        ));
    }
    out
}
