//! Collection against a real AWS API implementation on loopback: a moto server (control plane only; it
//! runs no Lambda code, has no cache policies and drops function associations on distributions, see
//! shared/toolchain.md). This proves the collector's calls, argument spelling and response parsing on
//! what moto serves; the checks themselves are proven on recorded responses (tests/doctor.rs).
//!
//! The test starts `moto_server` from `.tools/venv` (scripts/setup.sh installs it) on a free port.
use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use infra::aws::Aws;
use infra::doctor::{self, checks, collect, Facts, Target};
use serde_json::json;

struct Moto(Child);
impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto() -> (Moto, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = root.join(".tools/venv/bin/moto_server");
    assert!(
        bin.exists(),
        "{} missing: run scripts/setup.sh",
        bin.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (moto, format!("http://127.0.0.1:{port}"))
}

fn aws_cli() -> Aws {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Aws::with_program(root.join(".tools/venv/bin/aws"))
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
    // The aws CLI reads these; this test binary runs this one test, so setting them is safe.
    std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::remove_var("AWS_PROFILE");
    let aws = aws_cli();
    let dir = std::env::temp_dir().join(format!("scalefront-moto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let call = |region: &str, args: &[&str]| {
        aws.call(region, args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };

    // The photo bucket in eu-west-1, an OAC, the role, the function and its version.
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
    // moto has no cache policies: a policy that is not there is no fact, and no error.
    assert!(
        facts.cache_policies.is_empty() && facts.errors.is_empty(),
        "{:?}",
        facts.errors
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
    let (account, region, exists, stack) =
        infra::deploy::survey(&aws, "example-photos", None, "scalefront-example-photos").unwrap();
    assert_eq!(
        (account.as_str(), region.as_str(), exists, stack),
        ("123456789012", "eu-west-1", true, None)
    );
    let err = infra::deploy::survey(&aws, "example-photos", Some("us-west-2"), "s")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wrong region") && err.contains("--region eu-west-1"),
        "{err}"
    );
    let (_, region, exists, _) =
        infra::deploy::survey(&aws, "not-there-yet", Some("ap-south-1"), "s").unwrap();
    assert_eq!((region.as_str(), exists), ("ap-south-1", false));
    let _ = std::fs::remove_dir_all(&dir);
}
