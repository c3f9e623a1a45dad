//! The statements deploy owns in policies it does not: the bucket policy's read statement for the
//! distribution, and (SSE-KMS buckets) the KMS key policy's decrypt statement for it. Each is
//! merged under its own Sid, replacing an older one and leaving every other statement alone.
use anyhow::{Context, Result};
use serde_json::{json, Value};

/// The Sid of a statement deploy owns for `stack` (letters and digits only).
pub fn sid(what: &str, stack: &str) -> String {
    format!(
        "Scalefront{what}{}",
        stack
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    )
}

/// The bucket policy statement's Sid.
pub fn policy_sid(stack: &str) -> String {
    sid("Read", stack)
}

/// `existing` policy (JSON text, if any) with `statement` put in under `sid`, replacing an older
/// one of the same Sid and leaving every other statement as it was.
pub fn merge_statement(existing: Option<&str>, statement: &Value, sid: &str) -> Result<String> {
    let mut doc: Value = match existing {
        Some(text) => serde_json::from_str(text).context("the current policy is not JSON")?,
        None => json!({"Version": "2012-10-17", "Statement": []}),
    };
    let mut stmt = statement.clone();
    stmt["Sid"] = Value::String(sid.to_owned());
    let list = match doc.get_mut("Statement") {
        Some(Value::Array(a)) => a,
        Some(one @ Value::Object(_)) => {
            *one = Value::Array(vec![one.clone()]);
            one.as_array_mut().unwrap()
        }
        _ => {
            doc["Statement"] = json!([]);
            doc["Statement"].as_array_mut().unwrap()
        }
    };
    list.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(sid));
    list.push(stmt);
    Ok(serde_json::to_string(&doc)?)
}

/// Whether merging changes nothing (re-deploys leave policies untouched).
pub fn same_policy(current: Option<&str>, merged: &str) -> bool {
    current.is_some_and(|t| {
        serde_json::from_str::<Value>(t).ok() == serde_json::from_str::<Value>(merged).ok()
    })
}

/// The objects CloudFront may read: the whole bucket, or with `--prefix` only that folder and the
/// variants (`scope` ends with `/`).
pub fn read_resources(bucket: &str, scope: &str, variant_prefix: &str) -> Vec<String> {
    if scope.is_empty() {
        vec![format!("arn:aws:s3:::{bucket}/*")]
    } else {
        vec![
            format!("arn:aws:s3:::{bucket}/{scope}*"),
            format!("arn:aws:s3:::{bucket}/{variant_prefix}/*"),
        ]
    }
}

/// The key policy statement that lets one distribution decrypt with an SSE-KMS bucket's key
/// (CloudFront's OAC guide, "SSE-KMS":
/// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html).
/// CloudFront only reads here (variants are written by the function's role), so it gets
/// `kms:Decrypt` alone, not the guide's Encrypt and GenerateDataKey* for uploads.
pub fn kms_statement(distribution_arn: &str) -> Value {
    json!({
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_other_statements_and_replaces_ours() {
        let stmt = json!({"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"});
        let fresh = merge_statement(None, &stmt, "ScalefrontReadx").unwrap();
        let v: Value = serde_json::from_str(&fresh).unwrap();
        assert_eq!(v["Statement"].as_array().unwrap().len(), 1);
        let theirs = r#"{"Version":"2012-10-17","Statement":{"Sid":"Theirs","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}"#;
        let once = merge_statement(Some(theirs), &stmt, "ScalefrontReadx").unwrap();
        let twice = merge_statement(Some(&once), &stmt, "ScalefrontReadx").unwrap();
        assert_eq!(once, twice, "re-deploying does not pile up statements");
        assert!(same_policy(Some(&once), &twice));
        assert!(!same_policy(Some(theirs), &once));
        let v: Value = serde_json::from_str(&twice).unwrap();
        let sids: Vec<&str> = v["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, ["Theirs", "ScalefrontReadx"]);
        assert!(merge_statement(Some("not json"), &stmt, "x").is_err());
    }

    #[test]
    fn sids_scopes_and_the_key_statement() {
        assert_eq!(
            policy_sid("scalefront-my-photos"),
            "ScalefrontReadscalefrontmyphotos"
        );
        assert_eq!(read_resources("b", "", "_sf"), ["arn:aws:s3:::b/*"]);
        assert_eq!(
            read_resources("b", "photos/", "_sf"),
            ["arn:aws:s3:::b/photos/*", "arn:aws:s3:::b/_sf/*"]
        );
        let k = kms_statement("arn:aws:cloudfront::123456789012:distribution/E1");
        assert_eq!(k["Action"], "kms:Decrypt");
        assert_eq!(
            k["Condition"]["StringEquals"]["AWS:SourceArn"],
            "arn:aws:cloudfront::123456789012:distribution/E1"
        );
    }
}
