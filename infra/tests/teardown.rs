//! `scalefront teardown` (infra::teardown): the Lambda@Edge replica failure on recorded responses
//! through a stand-in `aws` (CloudFormation's DELETE_FAILED as AWS reports it, which moto never
//! does), and a whole teardown against a moto server after `deploy::run` made the stack there
//! (moto's CloudFormation skips CloudFront resources: the stack holds role, function and version).
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use infra::aws::Aws;
use infra::teardown::{self, Ctx, Options};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/teardown")
}

fn options(stack: &str) -> Options {
    Options {
        stack: stack.into(),
        variant_prefix: "_sf".into(),
        variants: false,
        packages: false,
        wait_replicas: Duration::ZERO,
        retry_every: teardown::RETRY_EVERY,
    }
}

/// A stand-in `aws` for an edge stack whose function CloudFront still has replicas of: the first
/// delete-stack ends in DELETE_FAILED on OriginResponseFunction, the second one (retaining it,
/// or later, once the replicas are gone) deletes the stack.
fn replica_stand_in(name: &str) -> (PathBuf, PathBuf) {
    let dir = common::scratch(name);
    let t = fixtures();
    let t = t.display();
    let cases = format!(
        r#"  "cloudformation describe-stacks")
    case "$*" in *photos-region\ *) echo "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id scalefront-example-photos-region does not exist" >&2; exit 254 ;; esac
    case $(grep -c '^cloudformation delete-stack' "$log") in
      0) cat "{t}/describe-stacks.json" ;;
      1) cat "{t}/describe-stacks-delete-failed.json" ;;
      *) cat "{t}/describe-stacks-deleted.json" ;;
    esac ;;
  "cloudformation get-template") cat "{t}/get-template.json" ;;
  "cloudformation describe-stack-events")
    if grep -q '^cloudformation delete-stack' "$log"; then cat "{t}/describe-stack-events-delete-failed.json"; else cat "{t}/describe-stack-events-before.json"; fi ;;
  "cloudformation describe-stack-resources") cat "{t}/describe-stack-resources-delete-failed.json" ;;
  "cloudformation delete-stack") ;;
  "s3api get-bucket-policy") cat "{t}/get-bucket-policy.json" ;;
  "s3api put-bucket-policy") ;;
  "s3api get-bucket-lifecycle-configuration") cat "{t}/get-bucket-lifecycle-configuration.json" ;;
  "s3api put-bucket-lifecycle-configuration") ;;
  "s3api get-bucket-encryption") echo '{{"ServerSideEncryptionConfiguration": {{"Rules": [{{"ApplyServerSideEncryptionByDefault": {{"SSEAlgorithm": "AES256"}}, "BucketKeyEnabled": false}}]}}}}' ;;
  "logs describe-log-groups")
    case "$*" in *"--region eu-west-1 "*) cat "{t}/describe-log-groups-eu-west-1.json" ;; *) echo '{{"logGroups": []}}' ;; esac ;;"#
    );
    let aws = common::stand_in(&dir, &cases);
    (dir, aws)
}

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn retains_a_function_whose_replicas_are_still_there() {
    let (dir, program) = replica_stand_in("teardown-replicas");
    let aws = Aws::with_program(&program);
    let mut ctx = Ctx::new(options("scalefront-example-photos"));
    let mut lines = Vec::new();
    teardown::run(&aws, &mut ctx, false, &mut |l| lines.push(l.to_owned())).unwrap();
    let text = lines.join("\n");
    let log = calls(&dir);

    // The policy keeps the other statement; ours is gone.
    let put = log
        .iter()
        .find(|l| l.starts_with("s3api put-bucket-policy"))
        .expect("put-bucket-policy");
    assert!(
        put.contains("--bucket example-photos") && put.contains("--region eu-west-1"),
        "{put}"
    );
    let policy: Value = serde_json::from_str(
        put.split_once("--policy ")
            .unwrap()
            .1
            .split_once(" --region")
            .unwrap()
            .0,
    )
    .unwrap();
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, ["DenyInsecureTransport"]);
    // The lifecycle keeps the other rule; ours (variant expiry) is gone.
    let put = log
        .iter()
        .find(|l| l.starts_with("s3api put-bucket-lifecycle-configuration"))
        .expect("put-bucket-lifecycle-configuration");
    let lifecycle: Value = serde_json::from_str(
        put.split_once("--lifecycle-configuration ")
            .unwrap()
            .1
            .split_once(" --region")
            .unwrap()
            .0,
    )
    .unwrap();
    assert_eq!(
        lifecycle,
        json!({"Rules": [{"ID": "expire-old-uploads", "Filter": {"Prefix": "uploads/"}, "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]})
    );

    // The stack's events as deploy prints them, the replica failure, then the retaining delete.
    assert!(
        text.contains(
            "OriginResponseFunction           DELETE_FAILED  Lambda was unable to delete"
        ),
        "{text}"
    );
    assert!(
        !text.contains("10:06:40"),
        "old events are not news:\n{text}"
    );
    let deletes: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("cloudformation delete-stack"))
        .collect();
    assert_eq!(deletes.len(), 2, "{log:#?}");
    assert!(
        deletes[1].contains("--stack-name scalefront-example-photos --retain-resources OriginResponseFunction --region us-east-1"),
        "{}",
        deletes[1]
    );
    assert!(
        log.iter().any(|l| l.starts_with("cloudformation describe-stacks --stack-name arn:aws:cloudformation:us-east-1:123456789012:stack/scalefront-example-photos/")),
        "a deleting stack is followed by its id: {log:#?}"
    );
    // No other mode's stack; the log groups in 16 regions, one found.
    assert!(
        text.contains("no stack scalefront-example-photos-region in eu-west-1"),
        "{text}"
    );
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("logs describe-log-groups"))
            .count(),
        infra::doctor::EDGE_REGIONS.len() + 1,
        "every edge region, and the viewer function's group in us-east-1"
    );

    let summary = teardown::summary(&ctx);
    assert!(summary.contains("  - statement ScalefrontReadscalefrontexamplephotos from the policy of bucket example-photos (the other statements stay)"), "{summary}");
    assert!(summary.contains("  - stack scalefront-example-photos (us-east-1), all but the Lambda@Edge function scalefront-example-photos-origin-response"), "{summary}");
    assert!(summary.contains("aws lambda delete-function --function-name scalefront-example-photos-origin-response --region us-east-1"), "{summary}");
    assert!(summary.contains("log group /aws/lambda/us-east-1.scalefront-example-photos-origin-response in eu-west-1 (keeps events 30 days)"), "{summary}");
    assert!(
        summary.contains("bucket example-photos and your originals: teardown never deletes"),
        "{summary}"
    );
    assert!(
        summary.contains("the variants under s3://example-photos/_sf/: not asked for"),
        "{summary}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn waits_for_the_replicas_within_the_bound() {
    let (dir, program) = replica_stand_in("teardown-wait");
    let aws = Aws::with_program(&program);
    let mut ctx = Ctx::new(Options {
        wait_replicas: Duration::from_secs(3600),
        retry_every: Duration::from_millis(10),
        ..options("scalefront-example-photos")
    });
    let mut lines = Vec::new();
    teardown::run(&aws, &mut ctx, false, &mut |l| lines.push(l.to_owned())).unwrap();
    let text = lines.join("\n");
    assert!(
        text.contains("CloudFront has not removed the Lambda@Edge replicas of scalefront-example-photos-origin-response yet"),
        "{text}"
    );
    let log = calls(&dir);
    let deletes: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("cloudformation delete-stack"))
        .collect();
    assert_eq!(deletes.len(), 2);
    assert!(!deletes[1].contains("--retain-resources"), "{}", deletes[1]);
    let summary = teardown::summary(&ctx);
    assert!(
        summary.contains("stack scalefront-example-photos (us-east-1) on try 2, once CloudFront had removed the replicas"),
        "{summary}"
    );
    assert!(!summary.contains("delete-function"), "{summary}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_dry_run_reads_and_changes_nothing() {
    let (dir, program) = replica_stand_in("teardown-dry");
    let aws = Aws::with_program(&program);
    let mut ctx = Ctx::new(Options {
        variants: true,
        packages: true,
        ..options("scalefront-example-photos")
    });
    let mut lines = Vec::new();
    teardown::run(&aws, &mut ctx, true, &mut |l| lines.push(l.to_owned())).unwrap();
    let log = calls(&dir);
    let changing: Vec<&String> = log
        .iter()
        .filter(|l| {
            !["describe-", "get-"]
                .iter()
                .any(|read| l.split(' ').nth(1).is_some_and(|op| op.starts_with(read)))
        })
        .collect();
    assert!(changing.is_empty(), "{changing:#?}");
    let plan = teardown::describe(&ctx);
    assert!(plan.starts_with("plan: tear down stack scalefront-example-photos (us-east-1, UPDATE_COMPLETE), bucket example-photos (eu-west-1)"), "{plan}");
    assert!(plan.contains("s3://scalefront-artifacts-123456789012/scalefront/origin-response-5f2b9c61d0e4a7b3.zip"), "{plan}");
    assert!(plan.contains("distribution E1EXAMPLE"), "{plan}");
    assert!(
        plan.contains("delete every object under s3://example-photos/_sf/"),
        "{plan}"
    );

    // A spec whose prefix the stack does not write under: refused before anything changes.
    let mut ctx = Ctx::new(Options {
        variants: true,
        variant_prefix: "photos".into(),
        ..options("scalefront-example-photos")
    });
    let err = teardown::run(&aws, &mut ctx, false, &mut |_| {}).unwrap_err();
    assert!(
        format!("{err:#}").contains("pass the --config the stack was deployed with"),
        "{err:#}"
    );
    assert_eq!(
        calls(&dir).len(),
        log.len() + 5,
        "read only: {:#?}",
        &calls(&dir)[log.len()..]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// moto (helpers as in tests/moto.rs)

use common::{aws_cli, start_moto as moto};

fn start_moto() -> (common::Moto, String) {
    moto(&[])
}

/// Deploys `stack` over example-photos with `package` as deploy does (moto: no distribution, so
/// deploy stops after the stack with "no DistributionDomain").
fn deploy(aws: &Aws, dir: &Path, stack: &str, package: &[u8]) {
    let (r, lines) = common::deploy(aws, dir, stack, infra::Mode::Edge, package, "spec");
    let err = r.unwrap_err();
    assert!(
        err.contains("no DistributionDomain"),
        "{err}\n{}",
        lines.join("\n")
    );
}

fn keys(aws: &Aws, bucket: &str, region: &str) -> Vec<String> {
    let v = aws
        .call(region, &["s3api", "list-objects-v2", "--bucket", bucket])
        .unwrap();
    let mut keys: Vec<String> = v
        .get("Contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|o| o["Key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

fn lifecycle_ids(aws: &Aws) -> Vec<String> {
    let v = aws
        .call_opt(
            "eu-west-1",
            &[
                "s3api",
                "get-bucket-lifecycle-configuration",
                "--bucket",
                "example-photos",
            ],
        )
        .unwrap()
        .unwrap_or_default();
    v.get("Rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| r["ID"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn policy_sids(aws: &Aws) -> Option<Vec<String>> {
    let v = aws
        .call_opt(
            "eu-west-1",
            &["s3api", "get-bucket-policy", "--bucket", "example-photos"],
        )
        .unwrap()?;
    let doc: Value = serde_json::from_str(v["Policy"].as_str().unwrap()).unwrap();
    Some(
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap_or("").to_owned())
            .collect(),
    )
}

/// Two stacks deployed to moto over one bucket and one package; the first torn down with
/// --variants --packages, then the second with --packages.
#[test]
fn tears_down_a_deployed_stack_on_moto() {
    let (_moto, endpoint) = start_moto();
    let aws = aws_cli(&endpoint);
    let dir = common::scratch("teardown-moto");
    let call = |region: &str, args: &[&str]| {
        aws.call(region, args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    call(
        "eu-west-1",
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            "example-photos",
            "--create-bucket-configuration",
            "LocationConstraint=eu-west-1",
        ],
    );
    call(
        "eu-west-1",
        &[
            "s3api",
            "put-bucket-ownership-controls",
            "--bucket",
            "example-photos",
            "--ownership-controls",
            "Rules=[{ObjectOwnership=BucketOwnerEnforced}]",
        ],
    );
    deploy(&aws, &dir, "sf-moto", b"one package");
    deploy(&aws, &dir, "sf-other", b"one package");
    // The owner's lifecycle rule, and sf-moto's for the variants' expiry as deploy merges it (on
    // moto deploy stops before its lifecycle step: no distribution).
    let theirs = json!({"Rules": [{"ID": "theirs-uploads", "Status": "Enabled", "Filter": {"Prefix": "uploads/"}, "Expiration": {"Days": 7}}]});
    let rules = infra::deploy::merge_lifecycle(
        Some(&theirs),
        &infra::deploy::lifecycle_rule_id("sf-moto"),
        "_sf",
        Some(30),
    )
    .unwrap();
    call(
        "eu-west-1",
        &[
            "s3api",
            "put-bucket-lifecycle-configuration",
            "--bucket",
            "example-photos",
            "--lifecycle-configuration",
            &json!({ "Rules": rules }).to_string(),
        ],
    );
    assert_eq!(lifecycle_ids(&aws), ["theirs-uploads", "sf-moto-variants"]);
    let package = infra::Artifact::of("origin-response", b"one package").key;
    let artifacts = "scalefront-artifacts-123456789012";
    assert_eq!(
        keys(&aws, artifacts, "us-east-1"),
        std::slice::from_ref(&package)
    );
    // The stacks next to the bucket run the regional package, from the bucket's region.
    let regional = infra::Artifact::of("regional", b"regional package").key;
    let regional_artifacts = "scalefront-artifacts-123456789012-eu-west-1";
    assert_eq!(
        keys(&aws, regional_artifacts, "eu-west-1"),
        std::slice::from_ref(&regional)
    );

    // The bucket policy as two deploys and the owner left it.
    let theirs = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Theirs", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::example-photos/photos/*"}]}).to_string();
    let read = |stack: &str| json!({"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example-photos/*", "Condition": {"StringEquals": {"AWS:SourceArn": format!("arn:aws:cloudfront::123456789012:distribution/E{stack}")}}});
    let policy = infra::deploy::merge_statement(
        Some(&theirs),
        &read("sf-moto"),
        &infra::deploy::policy_sid("sf-moto"),
    )
    .unwrap();
    let policy = infra::deploy::merge_statement(
        Some(&policy),
        &read("sf-other"),
        &infra::deploy::policy_sid("sf-other"),
    )
    .unwrap();
    call(
        "eu-west-1",
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "example-photos",
            "--policy",
            &policy,
        ],
    );

    // Originals, something that only looks like the prefix, and 1,001 variants (two batches).
    let photos = dir.join("photos");
    std::fs::create_dir_all(photos.join("_sf/photos/a.jpg/g1")).unwrap();
    std::fs::write(photos.join("a.jpg"), b"original").unwrap();
    for i in 0..1001 {
        std::fs::write(photos.join(format!("_sf/photos/a.jpg/g1/w{i}.webp")), b"v").unwrap();
    }
    let up = |from: &Path, to: &str| {
        call(
            "eu-west-1",
            &[
                "s3",
                "cp",
                from.to_str().unwrap(),
                to,
                "--recursive",
                "--quiet",
            ],
        )
    };
    up(&photos.join("_sf"), "s3://example-photos/_sf/");
    call(
        "eu-west-1",
        &[
            "s3api",
            "put-object",
            "--bucket",
            "example-photos",
            "--key",
            "photos/a.jpg",
        ],
    );
    call(
        "eu-west-1",
        &[
            "s3api",
            "put-object",
            "--bucket",
            "example-photos",
            "--key",
            "_sfx/not-a-variant.jpg",
        ],
    );
    assert_eq!(keys(&aws, "example-photos", "eu-west-1").len(), 1003);
    // Lambda@Edge's log group in one region, with a retention.
    let group = "/aws/lambda/us-east-1.sf-moto-origin-response";
    call(
        "eu-west-1",
        &["logs", "create-log-group", "--log-group-name", group],
    );
    call(
        "eu-west-1",
        &[
            "logs",
            "put-retention-policy",
            "--log-group-name",
            group,
            "--retention-in-days",
            "30",
        ],
    );

    let opts = Options {
        variants: true,
        packages: true,
        ..options("sf-moto")
    };

    // The dry run reads the stack and changes nothing.
    let mut ctx = Ctx::new(opts.clone());
    let mut lines = Vec::new();
    teardown::run(&aws, &mut ctx, true, &mut |l| lines.push(l.to_owned())).unwrap();
    let text = lines.join("\n");
    assert!(
        text.contains("stack sf-moto: CREATE_COMPLETE; bucket example-photos in eu-west-1"),
        "{text}"
    );
    assert!(
        text.contains("stack sf-moto-region in eu-west-1: CREATE_COMPLETE"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{group} in eu-west-1: keeps events 30 days")),
        "{text}\n{:?}",
        ctx.deployed.as_ref().map(|d| &d.stack.described)
    );
    let plan = teardown::describe(&ctx);
    assert!(
        plan.contains(&format!("packages: delete s3://{artifacts}/{package}")),
        "{plan}"
    );
    assert_eq!(policy_sids(&aws).unwrap().len(), 3);
    aws.call(
        "us-east-1",
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "sf-moto",
        ],
    )
    .expect("the dry run left the stack");

    // The teardown.
    let mut ctx = Ctx::new(opts);
    let mut lines = Vec::new();
    let r = teardown::run(&aws, &mut ctx, false, &mut |l| lines.push(l.to_owned()));
    let text = lines.join("\n");
    r.unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    assert!(
        text.contains("[5/9] stack: delete stack sf-moto in us-east-1"),
        "{text}"
    );
    assert!(
        text.contains("deleted 1000 variant(s) under s3://example-photos/_sf/ (1000 so far)"),
        "{text}"
    );
    assert!(
        text.contains("deleted 1 variant(s) under s3://example-photos/_sf/ (1001 so far)"),
        "{text}"
    );
    // The stack and its function are gone.
    let gone = aws
        .call_opt(
            "us-east-1",
            &[
                "cloudformation",
                "describe-stacks",
                "--stack-name",
                "sf-moto",
            ],
        )
        .unwrap();
    assert!(gone.is_none(), "{gone:?}");
    let function = aws
        .call_opt(
            "us-east-1",
            &[
                "lambda",
                "get-function",
                "--function-name",
                "sf-moto-origin-response",
            ],
        )
        .unwrap();
    assert!(function.is_none(), "{function:?}");
    let gone = aws
        .call_opt(
            "eu-west-1",
            &[
                "cloudformation",
                "describe-stacks",
                "--stack-name",
                "sf-moto-region",
            ],
        )
        .unwrap();
    assert!(gone.is_none(), "{gone:?}");
    assert_eq!(lifecycle_ids(&aws), ["theirs-uploads"]);
    // Only our statement left the policy; the variants went, the originals stayed.
    assert_eq!(
        policy_sids(&aws).unwrap(),
        ["Theirs", &infra::deploy::policy_sid("sf-other")]
    );
    assert_eq!(
        keys(&aws, "example-photos", "eu-west-1"),
        ["_sfx/not-a-variant.jpg", "photos/a.jpg"]
    );
    // The packages are the other stack's too: kept, and said so.
    assert_eq!(
        keys(&aws, artifacts, "us-east-1"),
        std::slice::from_ref(&package)
    );
    assert_eq!(
        keys(&aws, regional_artifacts, "eu-west-1"),
        std::slice::from_ref(&regional)
    );
    let summary = teardown::summary(&ctx);
    assert!(
        summary.contains(&format!(
            "s3://{artifacts}/{package}: stack sf-other's template names it too"
        )),
        "{summary}"
    );
    assert!(
        summary
            .contains("  - 1001 variant(s) under s3://example-photos/_sf/ (originals untouched)"),
        "{summary}"
    );
    assert!(
        summary.contains("  - stack sf-moto (us-east-1)\n"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "log group {group} in eu-west-1 (keeps events 30 days)"
        )),
        "{summary}"
    );
    assert!(
        summary.contains("bucket example-photos and your originals"),
        "{summary}"
    );

    // The other stack, its statement now the policy's only one: the policy goes, and so does
    // the package no stack names any more.
    call(
        "eu-west-1",
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "example-photos",
            "--policy",
            &infra::deploy::merge_statement(
                None,
                &read("sf-other"),
                &infra::deploy::policy_sid("sf-other"),
            )
            .unwrap(),
        ],
    );
    let mut ctx = Ctx::new(Options {
        packages: true,
        ..options("sf-other")
    });
    let r = teardown::run(&aws, &mut ctx, false, &mut |_| {});
    r.unwrap_or_else(|e| panic!("{e:#}\n{}", teardown::summary(&ctx)));
    assert_eq!(policy_sids(&aws), None);
    assert!(keys(&aws, artifacts, "us-east-1").is_empty());
    assert!(keys(&aws, regional_artifacts, "eu-west-1").is_empty());
    assert_eq!(
        lifecycle_ids(&aws),
        ["theirs-uploads"],
        "no rule of sf-other's"
    );
    let summary = teardown::summary(&ctx);
    assert!(
        summary.contains(
            "the policy of bucket example-photos (it held only statement ScalefrontReadsfother)"
        ),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("  - s3://{artifacts}/{package}\n")),
        "{summary}"
    );

    // Nothing left to tear down: said plainly.
    let err =
        teardown::run(&aws, &mut Ctx::new(options("sf-other")), false, &mut |_| {}).unwrap_err();
    assert!(
        format!("{err:#}").contains("there is no stack sf-other in us-east-1"),
        "{err:#}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
