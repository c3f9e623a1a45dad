//! `doctor --stack` collecting a whole setup from recorded responses, for the calls moto lacks
//! (the KeyValueStore's data plane, `lambda get-account-settings`): a stand-in `aws` answers every
//! call with the responses `tests/doctor/edge-good.json` holds (AWS's documented shapes), plus a
//! `list-keys` answer with values, which must never reach the facts, and a new account's
//! concurrency in eu-west-1. The stack next to the bucket (the automatic purge) is answered from
//! the same file, each call in the bucket's region.
mod common;

use std::path::Path;

use infra::aws::Aws;
use infra::doctor::{self, checks, Facts, Target, EDGE_REGIONS};
use serde_json::{json, Value};

const FN: &str = "arn:aws:cloudfront::123456789012:function/scalefront-viewer-request";
const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:scalefront-origin-response:3";
const KVS: &str =
    "arn:aws:cloudfront::123456789012:key-value-store/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";

fn write(dir: &Path, name: &str, v: &Value) {
    std::fs::write(dir.join(name), v.to_string()).unwrap();
}

fn settings(concurrency: u32) -> Value {
    // GetAccountSettings (https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html)
    json!({"AccountLimit": {"TotalCodeSize": 80530636800u64, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
        "ConcurrentExecutions": concurrency, "UnreservedConcurrentExecutions": concurrency},
        "AccountUsage": {"TotalCodeSize": 3687040, "FunctionCount": 2}})
}

fn good() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doctor/edge-good.json"),
        )
        .unwrap(),
    )
    .unwrap()
}

/// The responses the good edge setup was recorded from, one file per call (per region where the
/// answer depends on it).
fn recorded(dir: &Path) {
    let good = good();
    let mut dist = good["distribution"].clone();
    // The site's own domain is another test's business (no alias: nothing of it is read).
    dist["Distribution"]["DistributionConfig"]["Aliases"] = json!({"Quantity": 0});
    write(dir, "distribution.json", &dist);
    let policy_id = dist["Distribution"]["DistributionConfig"]["DefaultCacheBehavior"]
        ["CachePolicyId"]
        .as_str()
        .unwrap()
        .to_owned();
    write(
        dir,
        "cache-policy.json",
        &good["cache_policies"][&policy_id],
    );
    write(
        dir,
        "oac.json",
        &good["origin_access_controls"]["E3OACPHOTOS1"],
    );
    write(dir, "describe-function.json", &good["viewer_functions"][FN]);
    write(
        dir,
        "bucket-policy.json",
        &good["buckets"]["example-photos"]["policy"],
    );
    let lambda = &good["lambdas"][LAMBDA];
    write(dir, "function.json", &lambda["configuration"]);
    write(dir, "role.json", &lambda["role"]["get_role"]);
    write(
        dir,
        "role-policy.json",
        &json!({"RoleName": "r", "PolicyName": "photos", "PolicyDocument": lambda["role"]["policy_documents"][0]}),
    );
    for a in lambda["activity"].as_array().unwrap() {
        let region = a["region"].as_str().unwrap();
        let sum = a["invocations"].as_f64().unwrap();
        write(
            dir,
            &format!("metrics-{region}.json"),
            &json!({"Label": "Invocations", "Datapoints": [{"Timestamp": "2026-12-05T00:00:00Z", "Sum": sum, "Unit": "Count"}]}),
        );
        // DescribeLogGroups: retentionInDays only where a policy is set (eu-central-1 here).
        let groups: Vec<Value> = a["log_groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let mut v = json!({"logGroupName": g, "creationTime": 1764000000000u64, "metricFilterCount": 0, "storedBytes": 52133});
                if region == "eu-central-1" {
                    v["retentionInDays"] = json!(30);
                }
                v
            })
            .collect();
        write(
            dir,
            &format!("logs-{region}.json"),
            &json!({"logGroups": groups}),
        );
    }
    write(
        dir,
        "stack-resources.json",
        &json!({"StackResources": [
            {"LogicalResourceId": "Distribution", "PhysicalResourceId": "E2SCALEFRONT1", "ResourceType": "AWS::CloudFront::Distribution", "ResourceStatus": "CREATE_COMPLETE"},
            {"LogicalResourceId": "OriginResponseFunction", "PhysicalResourceId": "scalefront-origin-response", "ResourceType": "AWS::Lambda::Function", "ResourceStatus": "CREATE_COMPLETE"},
            {"LogicalResourceId": "SigningKeys", "PhysicalResourceId": "scalefront-example-photos-keys", "ResourceType": "AWS::CloudFront::KeyValueStore", "ResourceStatus": "CREATE_COMPLETE"}
        ]}),
    );
    // ListKeys (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_ListKeys.html)
    write(
        dir,
        "list-keys.json",
        &json!({"Items": [
            {"Key": "scalefront-a", "Value": "SECRET-a-0123456789abcdef"},
            {"Key": "scalefront-b", "Value": "SECRET-b-0123456789abcdef"},
            {"Key": "scalefront-o", "Value": "SECRET-o-0123456789abcdef"}
        ]}),
    );
    // The stack in us-east-1 says where the bucket is; the one next to it holds the purge.
    write(
        dir,
        "main-stack.json",
        &json!({"Stacks": [{"StackName": "scalefront-example-photos", "StackStatus": "UPDATE_COMPLETE",
            "Parameters": [{"ParameterKey": "BucketName", "ParameterValue": "example-photos"},
                {"ParameterKey": "BucketRegion", "ParameterValue": "eu-west-1"}],
            "Outputs": [{"OutputKey": "DistributionId", "OutputValue": "E2SCALEFRONT1"}]}]}),
    );
    let purge = &good["purge"];
    write(dir, "region-stack.json", &purge["describe_stack"]);
    let pf = &purge["function"];
    write(dir, "purge-function.json", &pf["configuration"]);
    write(dir, "purge-role.json", &pf["role"]["get_role"]);
    for (i, name) in ["scalefront-purge", "scalefront-invalidate"]
        .iter()
        .enumerate()
    {
        write(
            dir,
            &format!("{name}.json"),
            &json!({"RoleName": "r", "PolicyName": name, "PolicyDocument": pf["role"]["policy_documents"][i]}),
        );
    }
    write(dir, "purge-policy.json", &pf["policy"]);
    write(dir, "rule.json", &purge["rule"]);
    write(dir, "targets.json", &purge["targets"]);
    write(dir, "notification.json", &purge["notification"]);
    for (region, concurrency) in [
        ("us-east-1", 1000),
        ("eu-west-1", 10),
        ("eu-central-1", 1000),
    ] {
        write(
            dir,
            &format!("settings-{region}.json"),
            &settings(concurrency),
        );
    }
}

fn stand_in(dir: &Path) -> Aws {
    let d = dir.display();
    let region = r#"r=$(echo "$*" | sed 's/.*--region \([^ ]*\).*/\1/')"#;
    let arms = format!(
        r#"  "cloudformation describe-stack-resources") cat "{d}/stack-resources.json" ;;
  "cloudformation describe-stacks") case "$*" in *-region\ *) cat "{d}/region-stack.json" ;; *) cat "{d}/main-stack.json" ;; esac ;;
  "events describe-rule") cat "{d}/rule.json" ;;
  "events list-targets-by-rule") cat "{d}/targets.json" ;;
  "s3api get-bucket-notification-configuration") cat "{d}/notification.json" ;;
  "lambda get-policy") case "$*" in *-purge\ *) cat "{d}/purge-policy.json" ;; *) exit 254 ;; esac ;;
  "cloudfront get-distribution") cat "{d}/distribution.json" ;;
  "cloudfront get-cache-policy") cat "{d}/cache-policy.json" ;;
  "cloudfront get-origin-access-control") cat "{d}/oac.json" ;;
  "cloudfront describe-function") cat "{d}/describe-function.json" ;;
  "cloudfront-keyvaluestore describe-key-value-store") cat "$f/describe-key-value-store.json" ;;
  "cloudfront-keyvaluestore list-keys") cat "{d}/list-keys.json" ;;
  "s3api get-bucket-location") echo '{{"LocationConstraint": "eu-west-1"}}' ;;
  "s3api get-bucket-policy") cat "{d}/bucket-policy.json" ;;
  "lambda get-function-configuration") case "$*" in *-purge\ *) cat "{d}/purge-function.json" ;; *) cat "{d}/function.json" ;; esac ;;
  "lambda get-account-settings") {region}; cat "{d}/settings-$r.json" ;;
  "iam get-role") case "$*" in *PurgeRole*) cat "{d}/purge-role.json" ;; *) cat "{d}/role.json" ;; esac ;;
  "iam list-role-policies") case "$*" in *PurgeRole*) echo '{{"PolicyNames": ["scalefront-purge", "scalefront-invalidate"]}}' ;; *) echo '{{"PolicyNames": ["photos"]}}' ;; esac ;;
  "iam get-role-policy") case "$*" in *scalefront-purge\ *) cat "{d}/scalefront-purge.json" ;; *scalefront-invalidate\ *) cat "{d}/scalefront-invalidate.json" ;; *) cat "{d}/role-policy.json" ;; esac ;;
  "iam list-attached-role-policies") echo '{{"AttachedPolicies": [{{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}}]}}' ;;
  "cloudwatch get-metric-statistics") {region}; case "$*" in *us-east-1.*) cat "{d}/metrics-$r.json" ;; *) echo '{{"Datapoints": []}}' ;; esac ;;
  "logs describe-log-groups") {region}; cat "{d}/logs-$r.json" ;;
  "logs put-retention-policy") ;;"#
    );
    Aws::with_program(common::stand_in(dir, &arms))
}

#[test]
fn collects_keys_quotas_and_retentions_from_recorded_responses() {
    let dir = common::scratch("doctor-collect");
    recorded(&dir);
    let aws = stand_in(&dir);
    let regions: Vec<String> = EDGE_REGIONS.iter().map(|r| r.to_string()).collect();
    let mut facts: Facts = doctor::collect(
        &aws,
        &Target::Stack("scalefront-example-photos".into()),
        &regions,
        &mut |_| {},
    )
    .unwrap();
    let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap();
    assert!(facts.errors.is_empty(), "{:?}\n{calls}", facts.errors);

    // The stack's store, the function's association, the store's key names — never its values.
    let stack = facts.stack.as_ref().unwrap();
    assert_eq!(stack.key_value_stores, ["scalefront-example-photos-keys"]);
    let kvs = &facts.key_value_stores[KVS];
    assert_eq!(kvs.keys, ["scalefront-a", "scalefront-b", "scalefront-o"]);
    assert_eq!(kvs.describe.as_ref().unwrap()["Status"], "READY");
    let saved = serde_json::to_string(&facts).unwrap();
    assert!(!saved.contains("SECRET"), "a key's value reached the facts");

    // get-account-settings where the function runs (its log groups) and in us-east-1, nowhere else.
    let settings: Vec<(&str, u32)> = facts
        .account_settings
        .iter()
        .map(|(r, s)| (r.as_str(), s.account_limit.unreserved_concurrent_executions))
        .collect();
    assert_eq!(
        settings,
        [
            ("eu-central-1", 1000),
            ("eu-west-1", 10),
            ("us-east-1", 1000)
        ]
    );
    assert_eq!(calls.matches("lambda get-account-settings").count(), 3);

    // Retentions as found: eu-west-1's group never expires.
    let lf = &facts.lambdas[LAMBDA];
    let group = infra::logs::edge_group("scalefront-origin-response");
    let retention = |region: &str| {
        lf.activity
            .iter()
            .find(|a| a.region == region)
            .and_then(|a| a.retention.get(&group).copied())
    };
    assert_eq!(retention("eu-west-1"), Some(None));
    assert_eq!(retention("eu-central-1"), Some(Some(30)));
    assert_eq!(
        facts
            .collected
            .as_deref()
            .and_then(infra::runtime::Date::parse),
        Some(infra::runtime::Date::today())
    );

    // The purge's wiring, read next to the bucket (its region from the stack's BucketRegion), as
    // recorded.
    let want: infra::doctor::facts::PurgeFacts =
        serde_json::from_value(good()["purge"].clone()).unwrap();
    assert_eq!(
        serde_json::to_value(facts.purge.as_ref().unwrap()).unwrap(),
        serde_json::to_value(&want).unwrap()
    );
    for call in [
        "cloudformation describe-stacks --stack-name scalefront-example-photos --region us-east-1",
        "cloudformation describe-stacks --stack-name scalefront-example-photos-region --region eu-west-1",
        "lambda get-function-configuration --function-name scalefront-example-photos-purge --region eu-west-1",
        "lambda get-policy --function-name scalefront-example-photos-purge --region eu-west-1",
        "events describe-rule --name scalefront-example-photos-region-PurgeRule-1A2B3C4D5E6F --region eu-west-1",
        "events list-targets-by-rule --rule scalefront-example-photos-region-PurgeRule-1A2B3C4D5E6F --region eu-west-1",
        "s3api get-bucket-notification-configuration --bucket example-photos --region eu-west-1",
    ] {
        assert!(calls.contains(call), "{call}\n{calls}");
    }

    // The checks: the new account's quota and the group kept forever warn; nothing fails.
    let lines = checks::run(&facts);
    let text = doctor::report(&facts, &lines);
    let status = |check: &str| {
        lines
            .iter()
            .filter(|l| l.check == check)
            .map(|l| (l.ok, l.warn))
            .collect::<Vec<_>>()
    };
    assert!(lines.iter().all(|l| l.ok), "{text}");
    assert_eq!(status("signing-keys"), [(true, false)], "{text}");
    assert_eq!(status("concurrency"), [(true, true)], "{text}");
    assert_eq!(status("log-retention"), [(true, true)], "{text}");
    assert!(
        text.contains("WARN concurrency") && text.contains("eu-west-1 lets Lambda run only 10")
    );

    // --set-log-retention 30: one call, for eu-west-1's group; then no warning.
    doctor::set_log_retention(&aws, &mut facts, 30, &mut |_| {}).unwrap();
    let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap();
    let puts: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with("logs put-retention-policy"))
        .collect();
    assert_eq!(
        puts,
        [format!(
            "logs put-retention-policy --log-group-name {group} --retention-in-days 30 --region eu-west-1 --output json"
        )]
    );
    let lines = checks::run(&facts);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.check == "log-retention")
            .map(|l| l.warn)
            .collect::<Vec<_>>(),
        [false]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
