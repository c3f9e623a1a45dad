//! Collection against a real AWS API implementation on loopback: a moto server (control plane only; it
//! runs no Lambda code, has no cache policies and drops function associations on distributions, see
//! docs/platform.md: what moto lacks). This proves the collector's calls, argument spelling and response parsing on
//! what moto serves; the checks themselves are proven on recorded responses (tests/doctor.rs).
//!
//! The test starts `moto_server` from `.tools/venv` (scripts/setup.sh installs it) on a free port.
mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use infra::aws::Aws;
use infra::deploy::Severity;
use infra::doctor::{self, checks, collect, Facts, Target};
use serde_json::json;

fn start_moto() -> (common::Moto, String) {
    common::start_moto(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
}

use common::aws_cli;

/// The photo bucket every test starts from, in eu-west-1.
fn photo_bucket(aws: &Aws) {
    aws.call(
        "eu-west-1",
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            "example-photos",
            "--create-bucket-configuration",
            "LocationConstraint=eu-west-1",
        ],
    )
    .unwrap();
    // As S3 makes every new bucket since April 2023 (moto leaves it unset).
    aws.call(
        "eu-west-1",
        &[
            "s3api",
            "put-bucket-ownership-controls",
            "--bucket",
            "example-photos",
            "--ownership-controls",
            "Rules=[{ObjectOwnership=BucketOwnerEnforced}]",
        ],
    )
    .unwrap();
}

fn zip_file(dir: &Path) -> std::path::PathBuf {
    // A minimal zip (one stored file) by hand: moto only stores it.
    let path = dir.join("fn.zip");
    let status = Command::new("python3")
        .args(["-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1],'w'); z.writestr('index.mjs','export const handler = async (e) => e.Records[0].cf.response;'); z.close()", path.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    path
}

#[test]
fn collects_a_setup_from_moto() {
    let (_moto, endpoint) = start_moto();
    let aws = aws_cli(&endpoint);
    let dir = std::env::temp_dir().join(format!("scalefront-moto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let call = |region: &str, args: &[&str]| {
        aws.call(region, args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };

    // The photo bucket in eu-west-1, an OAC, the role, the function and its version.
    photo_bucket(&aws);
    let oac = call("us-east-1", &["cloudfront", "create-origin-access-control", "--origin-access-control-config", "Name=sf-photos,SigningProtocol=sigv4,SigningBehavior=always,OriginAccessControlOriginType=s3"]);
    let oac_id = oac["OriginAccessControl"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}).to_string();
    let role = call(
        "us-east-1",
        &[
            "iam",
            "create-role",
            "--role-name",
            "sf-edge-role",
            "--assume-role-policy-document",
            &trust,
        ],
    );
    let role_arn = role["Role"]["Arn"].as_str().unwrap().to_owned();
    let s3 = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example-photos/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::example-photos"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::example-photos/_sf/*"}]})
    .to_string();
    call(
        "us-east-1",
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            "sf-edge-role",
            "--policy-name",
            "photos",
            "--policy-document",
            &s3,
        ],
    );
    call(
        "us-east-1",
        &[
            "iam",
            "attach-role-policy",
            "--role-name",
            "sf-edge-role",
            "--policy-arn",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        ],
    );
    let zip = format!("fileb://{}", zip_file(&dir).display());
    call(
        "us-east-1",
        &[
            "lambda",
            "create-function",
            "--function-name",
            "sf-origin-response",
            "--runtime",
            "nodejs22.x",
            "--handler",
            "index.handler",
            "--role",
            &role_arn,
            "--zip-file",
            &zip,
            "--architectures",
            "x86_64",
            "--timeout",
            "30",
            "--memory-size",
            "1769",
        ],
    );
    let version = call(
        "us-east-1",
        &[
            "lambda",
            "publish-version",
            "--function-name",
            "sf-origin-response",
        ],
    );
    let version_arn = version["FunctionArn"].as_str().unwrap().to_owned();
    assert!(version_arn.ends_with(":1"), "{version_arn}");
    // Lambda@Edge logs where it ran: a log group in eu-west-1 only.
    call(
        "eu-west-1",
        &[
            "logs",
            "create-log-group",
            "--log-group-name",
            "/aws/lambda/us-east-1.sf-origin-response",
        ],
    );

    // The distribution (moto keeps origins and OAC, drops the function association).
    let config = json!({
        "CallerReference": "scalefront-moto", "Comment": "scalefront moto", "Enabled": true,
        "Origins": {"Quantity": 1, "Items": [{"Id": "photos", "DomainName": "example-photos.s3.eu-west-1.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac_id}]},
        "DefaultCacheBehavior": {"TargetOriginId": "photos", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            "LambdaFunctionAssociations": {"Quantity": 1, "Items": [{"LambdaFunctionARN": version_arn, "EventType": "origin-response", "IncludeBody": false}]}},
    });
    let config_file = dir.join("dist.json");
    std::fs::File::create(&config_file)
        .unwrap()
        .write_all(config.to_string().as_bytes())
        .unwrap();
    let dist = call(
        "us-east-1",
        &[
            "cloudfront",
            "create-distribution",
            "--distribution-config",
            &format!("file://{}", config_file.display()),
        ],
    );
    let dist_id = dist["Distribution"]["Id"].as_str().unwrap().to_owned();
    let dist_arn = dist["Distribution"]["ARN"].as_str().unwrap().to_owned();
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "ScalefrontRead", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example-photos/*", "Condition": {"StringEquals": {"AWS:SourceArn": dist_arn}}}]}).to_string();
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

    // Collect through the distribution: origins, OAC, bucket region and policy.
    let regions: Vec<String> = ["us-east-1", "eu-west-1"].map(String::from).to_vec();
    let mut log = Vec::new();
    let mut facts: Facts = collect(
        &aws,
        &Target::Distribution(dist_id.clone()),
        &regions,
        &mut |l| log.push(l.to_owned()),
    )
    .unwrap();
    assert_eq!(facts.distribution.distribution.id, dist_id);
    let bucket = &facts.buckets["example-photos"];
    assert_eq!(bucket.region.as_deref(), Some("eu-west-1"));
    assert!(bucket.policy.as_ref().unwrap()["Policy"]
        .as_str()
        .unwrap()
        .contains(&dist_arn));
    // moto has no cache policies: a policy that is not there is no fact. moto 5.2 answers
    // GetCachePolicy with 500 "not implemented" (older versions with 404, no error): that call is
    // moto's gap, checked on recorded responses by the doctor fixtures; any other error counts.
    let errors: Vec<&String> = facts
        .errors
        .iter()
        .filter(|e| !e.contains("get-cache-policy"))
        .collect();
    assert!(
        facts.cache_policies.is_empty() && errors.is_empty(),
        "{errors:?}"
    );

    // The association moto dropped: collect the function as an association names it.
    let (lf, errors) = collect::edge_function(&aws, &version_arn, &regions).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let conf = lf.configuration.as_ref().unwrap();
    assert_eq!(
        (conf.runtime.as_deref(), conf.version.as_str()),
        (Some("nodejs22.x"), "1")
    );
    let role = lf.role.as_ref().unwrap();
    assert!(role
        .attached_policy_arns
        .iter()
        .any(|a| a.ends_with("AWSLambdaBasicExecutionRole")));
    assert_eq!(role.policy_documents.len(), 1);
    let logs: Vec<(&str, &Vec<String>)> = lf
        .activity
        .iter()
        .map(|a| (a.region.as_str(), &a.log_groups))
        .collect();
    assert_eq!(
        logs,
        [
            ("us-east-1", &vec![]),
            (
                "eu-west-1",
                &vec!["/aws/lambda/us-east-1.sf-origin-response".to_owned()]
            )
        ]
    );

    // The checks over what was collected, with what moto drops put back: the association, and the
    // origin's OAC (moto returns neither S3OriginConfig nor OriginAccessControlId; its create response
    // has the get response's shape).
    let dcb = &mut facts
        .distribution
        .distribution
        .distribution_config
        .default_cache_behavior;
    dcb.lambda_function_associations.items = vec![doctor::facts::LambdaAssociation {
        arn: version_arn.clone(),
        event_type: "origin-response".into(),
        include_body: Some(false),
    }];
    facts
        .distribution
        .distribution
        .distribution_config
        .origins
        .items[0]
        .origin_access_control_id = Some(oac_id.clone());
    facts
        .origin_access_controls
        .insert(oac_id.clone(), serde_json::from_value(oac).unwrap());
    facts.lambdas.insert(version_arn, lf);
    let lines = checks::run(&facts);
    let status = |check: &str| {
        lines
            .iter()
            .filter(|l| l.check == check)
            .map(|l| l.ok)
            .collect::<Vec<_>>()
    };
    for ok in [
        "function-region",
        "association-version",
        "edge-runtime",
        "edge-arch",
        "edge-env",
        "role-trust",
        "origin-access",
        "bucket-policy",
        "list-bucket",
        "write-scope",
        "logs",
    ] {
        assert_eq!(
            status(ok),
            [true],
            "{ok}:\n{}",
            doctor::report(&facts, &lines)
        );
    }
    // moto serves no metrics and no viewer function was attached: those must fail.
    assert_eq!(status("invocations"), [false]);
    assert_eq!(status("viewer-function"), [false]);
    let logs_line = lines.iter().find(|l| l.check == "logs").unwrap();
    assert!(
        logs_line.message.contains("in eu-west-1")
            && logs_line.message.contains("--region eu-west-1"),
        "{}",
        logs_line.message
    );

    // deploy's survey: the bucket's real region, and a plain-words error for the wrong one.
    let survey = |bucket: &str, region: Option<&str>, scope: &str| {
        infra::deploy::survey::survey(
            &aws,
            bucket,
            region,
            "scalefront-example-photos",
            "_sf",
            scope,
        )
    };
    let s = survey("example-photos", None, "").unwrap();
    assert_eq!(
        (
            s.account.as_str(),
            s.bucket_region.as_str(),
            s.bucket_exists,
            s.stack_status
        ),
        ("123456789012", "eu-west-1", true, None)
    );
    let err = survey("example-photos", Some("us-west-2"), "")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wrong region") && err.contains("--region eu-west-1"),
        "{err}"
    );
    let s = survey("not-there-yet", Some("ap-south-1"), "").unwrap();
    assert_eq!(
        (s.bucket_region.as_str(), s.bucket_exists),
        ("ap-south-1", false)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `deploy::run` against moto: survey, artifacts bucket and upload, change set, progress events, and the
/// resources moto's CloudFormation does create (role, Lambda function, numbered version). moto skips
/// CloudFront resources, so the stack has no distribution outputs and execute must say so.
#[test]
fn deploys_the_rendered_template_to_moto() {
    let (_moto, endpoint) = start_moto();
    let aws = aws_cli(&endpoint);
    let dir = std::env::temp_dir().join(format!("scalefront-moto-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    photo_bucket(&aws);

    let deploy_once = |package: &[u8], spec: &str| {
        common::deploy(&aws, &dir, "sf-moto", infra::Mode::Edge, package, spec)
    };

    let (result, lines) = deploy_once(b"package one", "spec one");
    let text = lines.join("\n");
    assert!(
        text.contains("creating the artifacts bucket scalefront-artifacts-123456789012"),
        "{text}"
    );
    assert!(text.contains("uploading"), "{text}");
    assert!(text.contains("change set ready"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  ") && l.contains("sf-moto") && l.contains("CREATE_COMPLETE")),
        "each stack event becomes a line (moto emits only the stack's own):\n{text}"
    );
    let err = result.unwrap_err();
    assert!(err.contains("no DistributionDomain"), "{err}");
    // The package is in the artifacts bucket under its hashed key, byte for byte.
    let key = infra::Artifact::of("origin-response", b"package one").key;
    let got = dir.join("got.zip");
    aws.call(
        "us-east-1",
        &[
            "s3api",
            "get-object",
            "--bucket",
            "scalefront-artifacts-123456789012",
            "--key",
            &key,
            got.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert_eq!(std::fs::read(&got).unwrap(), b"package one");
    // What CloudFormation made of the template: the edge function as Lambda@Edge needs it, version 1.
    let conf = aws
        .call(
            "us-east-1",
            &[
                "lambda",
                "get-function-configuration",
                "--function-name",
                "sf-moto-origin-response",
            ],
        )
        .unwrap();
    assert_eq!(conf["Runtime"], infra::template::EDGE_RUNTIME);
    assert_eq!(conf["Architectures"], json!(["x86_64"]));
    assert!(
        conf.get("Environment")
            .is_none_or(|e| e["Variables"].as_object().is_none_or(|v| v.is_empty())),
        "{conf}"
    );
    let versions = aws
        .call(
            "us-east-1",
            &[
                "lambda",
                "list-versions-by-function",
                "--function-name",
                "sf-moto-origin-response",
            ],
        )
        .unwrap();
    let numbers: Vec<&str> = versions["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Version"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["$LATEST", "1"]);

    // doctor --stack reads the stack's resources: this one has no distribution (moto skipped it).
    let regions = vec!["us-east-1".to_owned()];
    let err = doctor::collect(
        &aws,
        &Target::Stack("sf-moto".into()),
        &regions,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("stack sf-moto has no CloudFront distribution"),
        "{err}"
    );
    let err = doctor::collect(&aws, &Target::Stack("nope".into()), &regions, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("no stack named nope in us-east-1"), "{err}");

    // Re-deploying after a spec change updates the stack in place: the package uploads under a new
    // key and a new version is published.
    let (result, lines) = deploy_once(b"package two", "spec two");
    let text = lines.join("\n");
    assert!(text.contains("updating stack sf-moto"), "{text}");
    let err = result.unwrap_err();
    assert!(err.contains("no DistributionDomain"), "{err}\n{text}");
    let versions = aws
        .call(
            "us-east-1",
            &[
                "lambda",
                "list-versions-by-function",
                "--function-name",
                "sf-moto-origin-response",
            ],
        )
        .unwrap();
    let numbers: Vec<&str> = versions["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Version"].as_str().unwrap())
        .collect();
    // CloudFormation replaces the version (a new number); moto lists the replacement in the change set
    // but does not publish it, so the plan is what is checked here.
    assert!(
        text.contains("  Modify OriginResponseVersion (AWS::Lambda::Version)"),
        "{text}"
    );
    assert!(
        text.contains("  Modify OriginResponseFunction (AWS::Lambda::Function)"),
        "{text}"
    );
    assert_eq!(numbers[..2], ["$LATEST", "1"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `scalefront purge --stack` against moto: the listing with the `/` delimiter, `delete-objects`
/// and `create-invalidation` as the aws CLI spells them, the distribution's config read for
/// cache tags (moto's has none: wildcards).
#[test]
fn purges_one_original_in_a_deployed_bucket() {
    let (_moto, endpoint) = start_moto();
    let aws = aws_cli(&endpoint);
    let call = |region: &str, args: &[&str]| {
        aws.call(region, args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    photo_bucket(&aws);
    let g = viewer_fn::GENERATION;
    let keys = [
        "photos/a.jpg".to_string(),
        format!("_sf/photos/a.jpg/{g}/w640-h0-cover-q75.webp"),
        "_sf/photos/a.jpg/g0000000/w640-h0-cover-q75.webp".to_string(),
        format!("_sf/photos/a.jpg/b.jpg/{g}/w640-h0-cover-q75.webp"),
        format!("_sf/photos/ab.jpg/{g}/w640-h0-cover-q75.webp"),
    ];
    for key in &keys {
        call(
            "eu-west-1",
            &[
                "s3api",
                "put-object",
                "--bucket",
                "example-photos",
                "--key",
                key,
            ],
        );
    }
    let config = json!({
        "CallerReference": "scalefront-purge", "Comment": "purge", "Enabled": true,
        "Origins": {"Quantity": 1, "Items": [{"Id": "photos", "DomainName": "example-photos.s3.eu-west-1.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "photos", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    });
    let dist = call(
        "us-east-1",
        &[
            "cloudfront",
            "create-distribution",
            "--distribution-config",
            &config.to_string(),
        ],
    );
    let dist_id = dist["Distribution"]["Id"].as_str().unwrap().to_owned();
    let got = call(
        "us-east-1",
        &["cloudfront", "get-distribution-config", "--id", &dist_id],
    );
    let at = infra::purge::Deployed {
        bucket: "example-photos".into(),
        bucket_region: "eu-west-1".into(),
        distribution_id: dist_id.clone(),
        invalidation: infra::purge::invalidation_for(&got),
    };
    assert_eq!(at.invalidation, viewer_fn::purge::Invalidation::Paths);
    let spec = viewer_fn::Spec::default();
    let target = viewer_fn::purge::Target::Originals(vec!["photos/a.jpg".into()]);
    let mut said = Vec::new();
    let dry = infra::purge::run(&aws, &at, &spec, target.clone(), true, &mut |l| {
        said.push(l.to_owned())
    })
    .unwrap();
    assert_eq!(dry.deleted.len(), 2, "{dry:?}");
    assert!(
        said.is_empty(),
        "a dry run calls nothing but listings: {said:?}"
    );
    let report = infra::purge::run(&aws, &at, &spec, target, false, &mut |_| {}).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        report.invalidated,
        ["/_sf/photos/a.jpg/*", "/photos/a.jpg"],
        "{report:?}"
    );
    let left = call(
        "eu-west-1",
        &["s3api", "list-objects-v2", "--bucket", "example-photos"],
    );
    let mut left: Vec<&str> = left["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    left.sort();
    let mut want = vec![keys[0].as_str(), keys[3].as_str(), keys[4].as_str()];
    want.sort();
    assert_eq!(left, want, "the original and its neighbours stay");
    let inv = call(
        "us-east-1",
        &[
            "cloudfront",
            "list-invalidations",
            "--distribution-id",
            &dist_id,
        ],
    );
    let items = inv["InvalidationList"]["Items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{inv}");
    let one = call(
        "us-east-1",
        &[
            "cloudfront",
            "get-invalidation",
            "--distribution-id",
            &dist_id,
            "--id",
            items[0]["Id"].as_str().unwrap(),
        ],
    );
    assert_eq!(
        one["Invalidation"]["InvalidationBatch"]["Paths"]["Items"],
        json!(["/_sf/photos/a.jpg/*", "/photos/a.jpg"]),
        "{one}"
    );
}

/// The survey on a locked-down bucket, as moto keeps it: SSE-KMS with a customer managed key, a
/// policy that denies PUTs without the KMS header, ACLs on (object writer), files that are not
/// photos. (moto cannot switch Requester Pays on; its finding is tested on a recorded answer.)
/// Deploy must stop before changing anything, naming each problem and its fix.
#[test]
fn surveys_an_encrypted_locked_down_bucket() {
    let (_moto, endpoint) = start_moto();
    let aws = aws_cli(&endpoint);
    photo_bucket(&aws);
    let r = "eu-west-1";
    let key = aws
        .call(r, &["kms", "create-key", "--description", "photos"])
        .unwrap();
    let key_arn = key["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let sse = format!(
        r#"{{"Rules":[{{"ApplyServerSideEncryptionByDefault":{{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"{key_id}"}},"BucketKeyEnabled":true}}]}}"#
    );
    aws.call(
        r,
        &[
            "s3api",
            "put-bucket-encryption",
            "--bucket",
            "example-photos",
            "--server-side-encryption-configuration",
            &sse,
        ],
    )
    .unwrap();
    // The objects first: moto enforces the policy below on its own PUTs.
    for k in ["photos/a.jpg", "backup/db.sql"] {
        aws.call(
            r,
            &[
                "s3api",
                "put-object",
                "--bucket",
                "example-photos",
                "--key",
                k,
                "--server-side-encryption",
                "aws:kms",
            ],
        )
        .unwrap();
    }
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyNotKms","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::example-photos/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}"#;
    aws.call(
        r,
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "example-photos",
            "--policy",
            policy,
        ],
    )
    .unwrap();
    let ownership = |rule: &str| {
        let rules = format!("Rules=[{{ObjectOwnership={rule}}}]");
        aws.call(
            r,
            &[
                "s3api",
                "put-bucket-ownership-controls",
                "--bucket",
                "example-photos",
                "--ownership-controls",
                &rules,
            ],
        )
        .unwrap();
    };
    ownership("ObjectWriter");
    let s = infra::deploy::survey::survey(&aws, "example-photos", None, "sf", "_sf", "").unwrap();
    let by = |name: &str| {
        s.findings
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", s.findings))
    };
    assert_eq!(s.kms_key_arn.as_deref(), Some(key_arn.as_str()));
    assert!(
        by("encryption").message.contains(&key_arn),
        "{:?}",
        by("encryption")
    );
    assert_eq!(
        s.put_encryption,
        Some(infra::deploy::survey::PutEncryption::Kms {
            key: Some(key_arn.clone())
        })
    );
    assert!(
        s.findings.iter().all(|f| f.name != "requester-pays"),
        "{:?}",
        s.findings
    );
    assert_eq!(by("object-ownership").severity, Severity::Refuse);
    assert!(by("object-ownership")
        .message
        .contains("BucketOwnerEnforced"));
    assert_eq!(by("exposure").severity, Severity::Warn);
    assert!(by("exposure").message.contains("backup/db.sql"));
    assert_eq!(s.sample_key.as_deref(), Some("photos/a.jpg"));
    // The survey step stops the deploy: nothing after it runs.
    let mut ctx = infra::deploy::Ctx::new(common::deploy_options("sf", infra::Mode::Edge));
    let mut build = |_: &infra::deploy::Ctx| -> anyhow::Result<infra::deploy::Built> {
        panic!("the package step ran after a refusal")
    };
    let mut lines = Vec::new();
    let err = infra::deploy::run(&aws, &mut ctx, false, &mut build, &mut |l| {
        lines.push(l.to_owned())
    })
    .unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("deploy stops before changing anything") && err.contains("object-ownership"),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  STOP object-ownership")),
        "{lines:?}"
    );
    // Ownership fixed: still stopped, now for the key policy, with the statement to add.
    ownership("BucketOwnerEnforced");
    let err = format!(
        "{:#}",
        infra::deploy::run(&aws, &mut ctx, false, &mut build, &mut |_| {}).unwrap_err()
    );
    assert!(
        err.contains("--yes")
            && err.contains("\"kms:Decrypt\"")
            && err.contains("cloudfront.amazonaws.com"),
        "{err}"
    );
}

/// Lambda@Edge log groups on moto: the doctor reads each group's retention where it is,
/// `--set-log-retention` (doctor::set_log_retention) and deploy's `logs::set_retention` put one on
/// every group of the function that lacks it, in every edge region, leave other functions' groups
/// alone, and change nothing the second time.
#[test]
fn sets_the_retention_of_lambda_edge_log_groups() {
    let (_moto, endpoint) = start_moto();
    let aws = aws_cli(&endpoint);
    let call = |region: &str, args: &[&str]| {
        aws.call(region, args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    let group = infra::logs::edge_group("sf-origin-response");
    let other = infra::logs::edge_group("sf-origin-response-other");
    for (region, name, days) in [
        ("eu-west-1", &group, None),
        ("ap-northeast-1", &group, Some("7")),
        ("us-east-1", &group, Some("30")),
        ("eu-west-1", &other, None),
    ] {
        call(
            region,
            &["logs", "create-log-group", "--log-group-name", name],
        );
        if let Some(days) = days {
            call(
                region,
                &[
                    "logs",
                    "put-retention-policy",
                    "--log-group-name",
                    name,
                    "--retention-in-days",
                    days,
                ],
            );
        }
    }

    // What doctor collects: the groups where they are, with their retention.
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:sf-origin-response:1";
    let regions: Vec<String> = ["us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1"]
        .map(String::from)
        .to_vec();
    let (lf, errors) = collect::edge_function(&aws, arn, &regions).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let retention: Vec<(&str, Option<Option<u32>>)> = lf
        .activity
        .iter()
        .map(|a| (a.region.as_str(), a.retention.get(&group).copied()))
        .collect();
    assert_eq!(
        retention,
        [
            ("us-east-1", Some(Some(30))),
            ("eu-west-1", Some(None)),
            ("ap-northeast-1", Some(Some(7))),
            ("sa-east-1", None)
        ]
    );

    // doctor --set-log-retention 30: the two groups without 30 days, each said.
    let mut facts = Facts::default();
    facts.lambdas.insert(arn.to_owned(), lf);
    let mut said = Vec::new();
    let changes =
        doctor::set_log_retention(&aws, &mut facts, 30, &mut |l| said.push(l.to_owned())).unwrap();
    assert_eq!(
        said,
        [
            format!("log retention: {group} in eu-west-1: never expires → 30 days"),
            format!("log retention: {group} in ap-northeast-1: 7 days → 30 days"),
        ]
    );
    assert_eq!(changes.len(), 2);
    assert!(facts.lambdas[arn]
        .activity
        .iter()
        .all(|a| a.retention.values().all(|r| *r == Some(30))));
    let (found, errors) = infra::logs::find(&aws, &group, infra::doctor::EDGE_REGIONS);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(found.len(), 3);
    assert!(
        found.iter().all(|g| g.retention_days == Some(30)),
        "{found:?}"
    );

    // deploy's call, over every edge region: one group shortened elsewhere is put back, nothing else.
    call(
        "ap-northeast-1",
        &[
            "logs",
            "put-retention-policy",
            "--log-group-name",
            &group,
            "--retention-in-days",
            "14",
        ],
    );
    let mut said = Vec::new();
    let changes = infra::logs::set_retention(&aws, "sf-origin-response", 30, &mut |l| {
        said.push(l.to_owned())
    })
    .unwrap();
    assert_eq!(
        said,
        [format!(
            "log retention: {group} in ap-northeast-1: 14 days → 30 days"
        )]
    );
    assert_eq!(changes[0].from, Some(14));
    let mut said = Vec::new();
    assert!(
        infra::logs::set_retention(&aws, "sf-origin-response", 30, &mut |l| said
            .push(l.to_owned()))
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        said,
        ["log retention: 3 log group(s) of sf-origin-response already keep 30 days"]
    );
    // Another function's group stays as it was; a retention CloudWatch does not take is refused.
    let (found, _) = infra::logs::find(&aws, &other, &["eu-west-1"]);
    assert_eq!(found[0].retention_days, None);
    let e = infra::logs::set_retention(&aws, "sf-origin-response", 31, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("not 31"), "{e}");
}

/// Regional mode on moto: the function's stack goes to the bucket's region (eu-west-1) with its
/// package in that region's artifacts bucket, before the distribution's stack in us-east-1, which
/// gets the function URL's host as a parameter. moto's CloudFormation skips CloudFront, so the run
/// ends at the distribution's outputs; what exists by then is checked.
#[test]
fn deploys_regional_mode_next_to_the_bucket() {
    let (_moto, endpoint) = start_moto();
    let aws = aws_cli(&endpoint);
    photo_bucket(&aws);
    let dir = std::env::temp_dir().join(format!("scalefront-moto-regional-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (result, lines) = common::deploy(
        &aws,
        &dir,
        "sf-reg",
        infra::Mode::Regional,
        b"regional package",
        "spec",
    );
    let text = lines.join("\n");
    // The package went to the bucket region's artifacts bucket.
    let key = infra::Artifact::of("regional", b"regional package").key;
    aws.call(
        "eu-west-1",
        &[
            "s3api",
            "head-object",
            "--bucket",
            "scalefront-artifacts-123456789012-eu-west-1",
            "--key",
            &key,
        ],
    )
    .unwrap_or_else(|e| panic!("package not in eu-west-1: {e}\n{text}"));
    // The function's stack and function are in eu-west-1, none in us-east-1.
    let fn_stack = aws
        .call(
            "eu-west-1",
            &[
                "cloudformation",
                "describe-stacks",
                "--stack-name",
                "sf-reg-region",
            ],
        )
        .unwrap_or_else(|e| panic!("no function stack in eu-west-1: {e}\n{text}"));
    assert_eq!(
        fn_stack["Stacks"][0]["StackStatus"], "CREATE_COMPLETE",
        "{text}"
    );
    let conf = aws
        .call(
            "eu-west-1",
            &[
                "lambda",
                "get-function-configuration",
                "--function-name",
                "sf-reg-resize",
            ],
        )
        .unwrap();
    assert_eq!(conf["Runtime"], "provided.al2023");
    assert!(aws
        .call_opt(
            "us-east-1",
            &[
                "lambda",
                "get-function-configuration",
                "--function-name",
                "sf-reg-resize"
            ]
        )
        .unwrap()
        .is_none());
    assert!(
        text.contains("[5/13] region-stack: create or update stack sf-reg-region in eu-west-1"),
        "{text}"
    );
    // Either moto made the URL and the distribution's stack ran (ending without CloudFront's
    // outputs), or it has no function URLs in CloudFormation and the step says which output is
    // missing; both stop before the bucket policy.
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.contains("no DistributionDomain") || err.contains("has no FunctionUrlDomain output"),
        "{err}\n{text}"
    );
    assert!(
        !text.contains("bucket-policy:") || !text.contains("merging statement"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
