//! Key rotation against a deployed stack's KeyValueStore, on recorded responses shaped like the
//! documented ones (moto has no KeyValueStore): a stand-in `aws` answers each call from
//! `tests/kvs/*.json` and records what it was asked.
mod common;

use infra::aws::Aws;

#[test]
fn a_key_is_written_against_the_stores_etag_and_never_on_the_command_line() {
    let dir = common::scratch("kvs");
    let aws = Aws::with_program(common::stand_in(&dir, common::KVS));
    let store = infra::keys::store_of(&aws, "scalefront-example-photos").unwrap();
    assert!(store.ends_with("key-value-store/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"));
    let etag = infra::keys::put(
        &aws,
        &store,
        "scalefront-b",
        "s3cr3t-value-0123456789",
        &dir,
    )
    .unwrap();
    assert_eq!(etag, "KV2A9B8C7D6E5F4");
    let log = std::fs::read_to_string(dir.join("calls.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with(
        "cloudformation describe-stacks --stack-name scalefront-example-photos --region us-east-1"
    ));
    assert!(lines[1].starts_with(&format!(
        "cloudfront-keyvaluestore describe-key-value-store --kvs-arn {store}"
    )));
    assert!(lines[2].starts_with("cloudfront-keyvaluestore put-key --cli-input-json file://"));
    let input: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
    assert_eq!(
        input["IfMatch"], "KV1F83G8C2ARO7P",
        "the write names the store's current ETag"
    );
    assert_eq!(
        (input["Key"].as_str(), input["Value"].as_str()),
        (Some("scalefront-b"), Some("s3cr3t-value-0123456789"))
    );
    assert!(
        !lines[..3].iter().any(|l| l.contains("s3cr3t")),
        "the secret is not in any argv"
    );
    assert!(
        std::fs::read_dir(&dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("put-key")),
        "the input file is removed"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stack_without_signed_urls_says_so() {
    let dir = common::scratch("kvs-none");
    let script = common::stand_in(
        &dir,
        r#"  "cloudformation describe-stacks") echo '{"Stacks":[{"StackName":"s","Outputs":[{"OutputKey":"DistributionId","OutputValue":"E1"}]}]}' ;;"#,
    );
    let e = infra::keys::store_of(&Aws::with_program(&script), "s")
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not set `signed = true`"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
