//! How a command made of named steps (deploy, teardown) prints its plan and runs: one numbered
//! line per step for `--dry-run` and before a run, `[i/n] name: what` as each step starts, and
//! on a dry run only the steps that change nothing. One driver, so the two commands cannot drift.
use anyhow::{Context, Result};

/// One named step of a command over its context `C`.
pub trait NamedStep<C>: Copy {
    fn name(self) -> &'static str;
    /// What the step does, with what `ctx` knows so far.
    fn describe(self, ctx: &C) -> String;
    /// Whether a dry run runs it too (it changes nothing).
    fn runs_dry(self) -> bool;
}

/// The plan's numbered lines: `  i. name: what`.
pub fn plan<C, S: NamedStep<C>>(list: &[S], ctx: &C) -> String {
    list.iter()
        .enumerate()
        .map(|(i, s)| format!("  {}. {}: {}\n", i + 1, s.name(), s.describe(ctx)))
        .collect()
}

/// Runs `list` in order with `run`: all of it announced, or on a dry run silently only the steps
/// that change nothing. A failure names its step (`<command> step <name> failed`).
pub fn drive<C, S: NamedStep<C>>(
    command: &str,
    list: &[S],
    ctx: &mut C,
    dry_run: bool,
    mut run: impl FnMut(S, &mut C, &mut dyn FnMut(&str)) -> Result<()>,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    for (i, &step) in list.iter().enumerate() {
        if dry_run && !step.runs_dry() {
            continue;
        }
        if !dry_run {
            say(&format!(
                "[{}/{}] {}: {}",
                i + 1,
                list.len(),
                step.name(),
                step.describe(ctx)
            ));
        }
        run(step, ctx, say).with_context(|| format!("{command} step {} failed", step.name()))?;
    }
    Ok(())
}
