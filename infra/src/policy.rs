//! Just enough IAM policy reading for the checks: statements normalised (a string or a list is a list),
//! and "does this document allow action A on resource R for principal P" with `*`/`?` wildcards.
//! Deny statements and conditions other than `AWS:SourceArn` are reported, not evaluated.
use serde_json::Value;

/// One statement, normalised.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statement {
    pub sid: String,
    pub allow: bool,
    /// `(kind, value)`: `("Service", "cloudfront.amazonaws.com")`, `("AWS", "arn:…")`, `("*", "*")`.
    pub principals: Vec<(String, String)>,
    pub actions: Vec<String>,
    pub not_actions: bool,
    pub resources: Vec<String>,
    /// Values of `AWS:SourceArn` (or `aws:SourceArn`) conditions, if any.
    pub source_arns: Vec<String>,
    pub condition: Value,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Accepts a policy document as JSON value or as a JSON string (S3 and Lambda return strings; IAM,
/// through the CLI, returns objects).
pub fn statements(doc: &Value) -> Vec<Statement> {
    let parsed;
    let doc = match doc {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
            &parsed
        }
        d => d,
    };
    let list = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => Vec::new(),
    };
    list.iter()
        .map(|s| {
            let mut principals = Vec::new();
            match s.get("Principal") {
                Some(Value::String(p)) => principals.push(("*".to_owned(), p.clone())),
                Some(Value::Object(m)) => {
                    for (k, v) in m {
                        for p in strings(Some(v)) {
                            principals.push((k.clone(), p));
                        }
                    }
                }
                _ => {}
            }
            let condition = s.get("Condition").cloned().unwrap_or(Value::Null);
            let mut source_arns = Vec::new();
            if let Some(ops) = condition.as_object() {
                for (op, kv) in ops {
                    if !op.starts_with("StringEquals")
                        && !op.starts_with("ArnEquals")
                        && !op.starts_with("ArnLike")
                        && !op.starts_with("StringLike")
                    {
                        continue;
                    }
                    if let Some(m) = kv.as_object() {
                        for (k, v) in m {
                            if k.eq_ignore_ascii_case("aws:SourceArn") {
                                source_arns.extend(strings(Some(v)));
                            }
                        }
                    }
                }
            }
            let (actions, not_actions) = match s.get("Action") {
                Some(a) => (strings(Some(a)), false),
                None => (strings(s.get("NotAction")), true),
            };
            Statement {
                sid: s
                    .get("Sid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                allow: s.get("Effect").and_then(Value::as_str) == Some("Allow"),
                principals,
                actions,
                not_actions,
                resources: strings(s.get("Resource")),
                source_arns,
                condition,
            }
        })
        .collect()
}

/// IAM wildcard match: `*` any run, `?` one character; actions compare case-insensitively.
pub fn wildcard(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative glob with backtracking on the last star.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

impl Statement {
    pub fn covers_action(&self, action: &str) -> bool {
        let hit = self.actions.iter().any(|a| wildcard(a, action, true));
        hit != self.not_actions
    }
    pub fn covers_resource(&self, resource: &str) -> bool {
        self.resources.iter().any(|r| wildcard(r, resource, false))
    }
    pub fn has_principal(&self, kind: &str, value: &str) -> bool {
        self.principals.iter().any(|(k, v)| {
            (k == kind && wildcard(v, value, false))
                || (k == "*" && v == "*")
                || (k == "AWS" && v == "*")
        })
    }
}

/// Whether some Allow statement grants `action` on `resource` (identity policies: no principal).
pub fn allows(stmts: &[Statement], action: &str, resource: &str) -> bool {
    stmts
        .iter()
        .any(|s| s.allow && s.covers_action(action) && s.covers_resource(resource))
}

/// The resources on which `action` is allowed, as written (to tell a user what their policy says).
pub fn allowed_resources(stmts: &[Statement], action: &str) -> Vec<String> {
    let mut out: Vec<String> = stmts
        .iter()
        .filter(|s| s.allow && s.covers_action(action))
        .flat_map(|s| s.resources.iter().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards() {
        assert!(wildcard("s3:*", "s3:PutObject", true));
        assert!(wildcard("s3:put*", "s3:PutObject", true));
        assert!(!wildcard("s3:Get*", "s3:PutObject", true));
        assert!(wildcard(
            "arn:aws:s3:::b/_sf/*",
            "arn:aws:s3:::b/_sf/w600/x.jpg",
            false
        ));
        assert!(!wildcard(
            "arn:aws:s3:::b/_sf/*",
            "arn:aws:s3:::b/photos/x.jpg",
            false
        ));
        assert!(wildcard(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/photos/x.jpg",
            false
        ));
        assert!(wildcard("*", "", false));
        assert!(!wildcard("a?c", "ac", false));
    }

    #[test]
    fn reads_single_or_listed_statements_and_string_documents() {
        let doc = json!({"Statement": {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/_sf/*"}});
        let s = statements(&doc);
        assert!(allows(&s, "s3:PutObject", "arn:aws:s3:::b/_sf/x"));
        assert!(!allows(&s, "s3:PutObject", "arn:aws:s3:::b/x"));
        let text = Value::String(r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":["cloudfront.amazonaws.com"]},"Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"AWS:SourceArn":"arn:aws:cloudfront::1:distribution/E1"}}}]}"#.into());
        let s = statements(&text);
        assert_eq!(
            s[0].source_arns,
            vec!["arn:aws:cloudfront::1:distribution/E1".to_owned()]
        );
        assert!(s[0].has_principal("Service", "cloudfront.amazonaws.com"));
        assert!(!s[0].has_principal("Service", "lambda.amazonaws.com"));
    }

    #[test]
    fn not_action_and_deny() {
        let doc = json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]});
        let s = statements(&doc);
        assert!(s[0].covers_action("s3:PutObject"));
        assert!(!s[0].covers_action("iam:PassRole"));
        assert!(!s[1].allow);
    }
}
