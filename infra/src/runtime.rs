//! The Lambda runtimes Lambda@Edge takes, with Lambda's deprecation dates: one table for the
//! deploy's runtime ([`EDGE_RUNTIME`]) and the doctor's `edge-runtime` check ([`assess`]).
//!
//! Sources (as of 2026-12-06):
//! - Which runtimes Lambda@Edge takes: "Restrictions on Lambda@Edge", Supported runtimes
//!   (<https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-at-edge-function-restrictions.html#lambda-at-edge-restrictions-runtime>):
//!   "Lambda@Edge supports the latest versions of Node.js and Python runtimes. For a list of
//!   supported versions and their future deprecation dates, see Supported runtimes in the AWS
//!   Lambda Developer Guide" — so every Node.js and Python runtime Lambda lists (Node.js 24 and
//!   Python 3.14 included); earlier versions of the page listed Node.js 18–22 and Python 3.7–3.13
//!   by name. Deprecated versions: "You can't create or update functions with deprecated versions
//!   of Node.js. You can only associate existing functions with these versions … Functions with
//!   these versions that are associated with distributions will continue to run." No custom
//!   runtime (`provided.*`), no container image.
//! - Dates: "Building Lambda functions with Node.js"
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html>), "Building Lambda
//!   functions with Python" (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html>);
//!   runtimes already deprecated: the deprecated-runtimes table of "Lambda runtimes"
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html>), whose block dates are
//!   not recorded here. Lambda's dates move (they were pushed back before): recheck these pages
//!   when a date comes near.
use std::fmt;

/// The runtime of scalefront's origin-response function: the newest Node.js Lambda@Edge takes
/// (a test holds it to [`RUNTIMES`]).
pub const EDGE_RUNTIME: &str = "nodejs24.x";

/// Doctor warns this many days before a runtime's deprecation date: Lambda announces a
/// deprecation at least 180 days ahead ("Runtime deprecation policy",
/// <https://docs.aws.amazon.com/lambda/latest/dg/runtime-support-policy.html>), and moving a
/// function means a deploy and a look at the logs, not an afternoon's notice.
pub const WARN_DAYS: i64 = 180;

/// A calendar date (proleptic Gregorian), enough for deprecation dates and "today".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub const fn new(year: i32, month: u32, day: u32) -> Date {
        Date { year, month, day }
    }

    /// `YYYY-MM-DD` (a longer ISO 8601 timestamp is cut to its date).
    pub fn parse(s: &str) -> Option<Date> {
        let s = s.get(..10)?;
        let mut parts = s.split('-');
        let year = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        let d = Date { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && Date::from_days(d.days()) == d).then_some(d)
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    pub fn days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (`civil_from_days`).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        Date::from_days((secs / 86_400) as i64)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One Lambda runtime as Lambda@Edge sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runtime {
    /// Lambda's identifier (`nodejs22.x`).
    pub id: &'static str,
    /// Lambda stops patching it (deprecation date).
    pub deprecation: Date,
    /// From this date no new function may use it (`None`: not recorded here).
    pub block_create: Option<Date>,
    /// From this date existing functions on it can no longer be updated.
    pub block_update: Option<Date>,
}

const fn d(year: i32, month: u32, day: u32) -> Option<Date> {
    Some(Date::new(year, month, day))
}

const fn rt(
    id: &'static str,
    deprecation: Date,
    create: Option<Date>,
    update: Option<Date>,
) -> Runtime {
    Runtime {
        id,
        deprecation,
        block_create: create,
        block_update: update,
    }
}

/// Every runtime Lambda@Edge takes, newest first within each language. A runtime not here (a
/// custom runtime, Java, Node.js 16 and older) is refused.
pub const RUNTIMES: &[Runtime] = &[
    // lambda-nodejs.html
    rt(
        "nodejs24.x",
        Date::new(2028, 4, 30),
        d(2028, 6, 1),
        d(2028, 7, 1),
    ),
    rt(
        "nodejs22.x",
        Date::new(2027, 4, 30),
        d(2027, 6, 1),
        d(2027, 7, 1),
    ),
    rt(
        "nodejs20.x",
        Date::new(2026, 4, 30),
        d(2026, 8, 31),
        d(2026, 9, 30),
    ),
    // lambda-runtimes.html, deprecated runtimes
    rt("nodejs18.x", Date::new(2025, 9, 1), None, None),
    // lambda-python.html
    rt(
        "python3.14",
        Date::new(2029, 6, 30),
        d(2029, 7, 31),
        d(2029, 8, 31),
    ),
    rt(
        "python3.13",
        Date::new(2029, 6, 30),
        d(2029, 7, 31),
        d(2029, 8, 31),
    ),
    rt(
        "python3.12",
        Date::new(2028, 10, 31),
        d(2028, 11, 30),
        d(2029, 1, 10),
    ),
    rt(
        "python3.11",
        Date::new(2027, 6, 30),
        d(2027, 7, 31),
        d(2027, 8, 31),
    ),
    rt(
        "python3.10",
        Date::new(2026, 10, 31),
        d(2026, 11, 30),
        d(2027, 1, 15),
    ),
    // lambda-runtimes.html, deprecated runtimes
    rt("python3.9", Date::new(2025, 12, 15), None, None),
    rt("python3.8", Date::new(2024, 10, 14), None, None),
    rt("python3.7", Date::new(2023, 12, 4), None, None),
];

/// The table's entry for a runtime Lambda@Edge takes.
pub fn lookup(id: &str) -> Option<&'static Runtime> {
    RUNTIMES.iter().find(|r| r.id == id)
}

/// The runtime to move a function on `id` to: the newest of its language (Node.js: the one
/// scalefront deploys).
pub fn successor(id: &str) -> &'static str {
    if id.starts_with("python") {
        RUNTIMES
            .iter()
            .find(|r| r.id.starts_with("python"))
            .map_or(EDGE_RUNTIME, |r| r.id)
    } else {
        EDGE_RUNTIME
    }
}

/// What the doctor makes of a runtime on a given day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Lambda@Edge does not take it.
    Refused,
    /// Supported, deprecation more than [`WARN_DAYS`] away (or no day to compare with).
    Supported(&'static Runtime),
    /// Supported, deprecated within [`WARN_DAYS`] days (`days_left` > 0).
    Deprecating(&'static Runtime, i64),
    /// Deprecated: still runs where it is associated; may stop being creatable or updatable.
    Deprecated(&'static Runtime),
}

/// Judges runtime `id` on `today` (`None`: the date the facts were read is unknown, so only
/// whether Lambda@Edge takes it is judged).
pub fn assess(id: &str, today: Option<Date>) -> Verdict {
    let Some(r) = lookup(id) else {
        return Verdict::Refused;
    };
    let Some(today) = today else {
        return Verdict::Supported(r);
    };
    let left = r.deprecation.days() - today.days();
    if left <= 0 {
        Verdict::Deprecated(r)
    } else if left <= WARN_DAYS {
        Verdict::Deprecating(r, left)
    } else {
        Verdict::Supported(r)
    }
}

impl Runtime {
    /// Lambda's create/update blocks, in words, relative to `today`: "new functions on it
    /// blocked from 2027-06-01, updates from 2027-07-01".
    pub fn blocks(&self, today: Date) -> String {
        let when = |d: Date, what: &str| {
            if d <= today {
                format!("{what} blocked since {d}")
            } else {
                format!("{what} blocked from {d}")
            }
        };
        match (self.block_create, self.block_update) {
            (Some(c), Some(u)) => format!(
                "{}, {}",
                when(c, "new functions on it"),
                when(u, "updates")
            ),
            _ => "Lambda blocks creating and then updating functions on deprecated runtimes (dates: lambda-runtimes.html)".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for s in [
            "1970-01-01",
            "2000-02-29",
            "2026-12-06",
            "2027-04-30",
            "2100-03-01",
        ] {
            assert_eq!(Date::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Date::new(1970, 1, 1).days(), 0);
        assert_eq!(
            Date::new(2027, 4, 30).days() - Date::new(2026, 12, 6).days(),
            145
        );
        assert_eq!(
            Date::parse("2026-12-06T14:29:56Z"),
            Some(Date::new(2026, 12, 6))
        );
        for bad in ["2026-02-29", "2026-13-01", "2026-1-1", "", "yesterday"] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        let today = Date::today();
        assert_eq!(Date::from_days(today.days()), today);
    }

    #[test]
    fn the_deployed_runtime_is_the_newest_node_the_table_holds() {
        let newest = RUNTIMES
            .iter()
            .find(|r| r.id.starts_with("nodejs"))
            .unwrap();
        assert_eq!(newest.id, EDGE_RUNTIME);
        assert_eq!(successor("nodejs20.x"), EDGE_RUNTIME);
        assert_eq!(successor("python3.9"), "python3.14");
        // Newest first within a language, dates in order.
        for w in RUNTIMES.windows(2) {
            let same = w[0].id.starts_with("nodejs") == w[1].id.starts_with("nodejs");
            assert!(!same || w[0].deprecation >= w[1].deprecation, "{w:?}");
        }
        for r in RUNTIMES {
            if let (Some(c), Some(u)) = (r.block_create, r.block_update) {
                assert!(r.deprecation < c && c < u, "{r:?}");
            }
        }
    }

    #[test]
    fn verdicts_on_the_day_of_writing() {
        let today = Some(Date::new(2026, 12, 6));
        assert!(matches!(assess("nodejs24.x", today), Verdict::Supported(_)));
        assert!(matches!(
            assess("nodejs22.x", today),
            Verdict::Deprecating(_, 145)
        ));
        assert!(matches!(
            assess("nodejs20.x", today),
            Verdict::Deprecated(_)
        ));
        assert!(matches!(assess("python3.11", today), Verdict::Supported(_)));
        assert!(matches!(
            assess("python3.10", today),
            Verdict::Deprecated(_)
        ));
        for refused in ["nodejs16.x", "provided.al2023", "java21", ""] {
            assert_eq!(assess(refused, today), Verdict::Refused);
        }
        // Without a date, only whether Lambda@Edge takes it.
        assert!(matches!(assess("nodejs18.x", None), Verdict::Supported(_)));
        let r = lookup("nodejs20.x").unwrap();
        assert_eq!(
            r.blocks(Date::new(2026, 12, 6)),
            "new functions on it blocked since 2026-08-31, updates blocked since 2026-09-30"
        );
    }
}
