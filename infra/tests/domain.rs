//! The site's own domain (`deploy --domain`): ACM and Route 53 calls against moto, and the end
//! states moto never reaches (FAILED, VALIDATION_TIMED_OUT, a wait that runs out) through a
//! stand-in `aws` answering as ACM documents.
//!
//! moto's ACM keeps a requested certificate PENDING_VALIDATION for `MOTO_ACM_VALIDATION_WAIT`
//! seconds, then says ISSUED (it never looks at DNS). 60 by default; 10 here: long enough for the
//! first describe to see it pending even on a loaded machine (so the validation records are written
//! and the wait is seen from both sides), short enough for a test.
mod common;

use std::time::Duration;

use infra::aws::Aws;
use infra::doctor::domain::{self as doc, Lookup};
use infra::doctor::facts::{Distribution, Facts, GetDistribution};
use infra::domain::{self, Wait};
use serde_json::{json, Value};

/// A moto server on a free port whose ACM issues a requested certificate after 10 s.
fn start_moto() -> (common::Moto, Aws) {
    let (moto, endpoint) = common::start_moto(&[("MOTO_ACM_VALIDATION_WAIT", "10")]);
    (moto, common::aws_cli(&endpoint))
}

const QUICK: Wait = Wait {
    timeout: Duration::from_secs(60),
    every: Duration::from_millis(250),
};

fn zone(aws: &Aws, name: &str) -> String {
    let v = aws
        .call(
            "us-east-1",
            &[
                "route53",
                "create-hosted-zone",
                "--name",
                name,
                "--caller-reference",
                &format!("test-{name}"),
            ],
        )
        .unwrap();
    v["HostedZone"]["Id"]
        .as_str()
        .unwrap()
        .trim_start_matches("/hostedzone/")
        .to_owned()
}

fn records(aws: &Aws, zone: &str) -> Vec<Value> {
    aws.call(
        "us-east-1",
        &[
            "route53",
            "list-resource-record-sets",
            "--hosted-zone-id",
            zone,
        ],
    )
    .unwrap()["ResourceRecordSets"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn requests_validates_reuses_and_points_on_moto() {
    let (_moto, aws) = start_moto();
    let zone_id = zone(&aws, "example.com");
    let mut lines = Vec::new();

    // A new certificate: requested, its validation record written into the zone, waited for.
    let arn = domain::ensure_certificate_with(
        &aws,
        "Images.Example.com",
        Some("example.com"),
        &QUICK,
        &mut |l| lines.push(l.to_owned()),
    )
    .unwrap();
    let text = lines.join("\n");
    assert!(arn.starts_with("arn:aws:acm:us-east-1:"), "{arn}");
    assert!(
        text.contains(&format!(
            "requested certificate {arn} for images.example.com (DNS validation)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "wrote 1 validation record(s) into Route 53 hosted zone {zone_id} (example.com)"
        )),
        "{text}"
    );
    // moto keeps it PENDING_VALIDATION for 10 s, then issues it: both states are seen.
    assert!(
        text.contains("waiting for ACM to validate images.example.com (PENDING_VALIDATION"),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("certificate {arn} is ISSUED")),
        "{text}"
    );
    let described = aws
        .call(
            "us-east-1",
            &["acm", "describe-certificate", "--certificate-arn", &arn],
        )
        .unwrap();
    let record = &described["Certificate"]["DomainValidationOptions"][0]["ResourceRecord"];
    let in_zone = records(&aws, &zone_id);
    assert!(
        in_zone.iter().any(|r| r["Type"] == "CNAME"
            && r["Name"] == record["Name"]
            && r["ResourceRecords"][0]["Value"] == record["Value"]),
        "{in_zone:#?}"
    );

    // Deploy again: the ISSUED certificate is reused, nothing requested.
    lines.clear();
    let again = domain::ensure_certificate_with(
        &aws,
        "images.example.com",
        Some(&zone_id),
        &QUICK,
        &mut |l| lines.push(l.to_owned()),
    )
    .unwrap();
    assert_eq!(again, arn);
    let text = lines.join("\n");
    assert!(
        text.contains(&format!(
            "reusing certificate {arn} (ISSUED, names images.example.com)"
        )),
        "{text}"
    );
    assert!(!text.contains("requested"), "{text}");
    // --certificate with that ARN passes its checks.
    assert_eq!(
        domain::check_certificate(&aws, &arn, "images.example.com", &mut |_| {}).unwrap(),
        arn
    );

    // After the stack: alias A and AAAA records to the distribution.
    lines.clear();
    domain::point_alias_with(
        &aws,
        Some(&zone_id),
        "images.example.com",
        "d111111abcdef8.cloudfront.net",
        &QUICK,
        &mut |l| lines.push(l.to_owned()),
    )
    .unwrap();
    let aliases: Vec<Value> = records(&aws, &zone_id)
        .into_iter()
        .filter(|r| r["Name"] == "images.example.com.")
        .collect();
    let kinds: Vec<&str> = aliases
        .iter()
        .map(|r| r["Type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["A", "AAAA"], "{aliases:#?}");
    for r in &aliases {
        assert_eq!(r["AliasTarget"]["HostedZoneId"], "Z2FDTNDATAQYW2");
        assert_eq!(
            r["AliasTarget"]["DNSName"]
                .as_str()
                .unwrap()
                .trim_end_matches('.'),
            "d111111abcdef8.cloudfront.net"
        );
    }
    assert!(lines.join("\n").contains(&format!(
        "alias A and AAAA records in Route 53 hosted zone {zone_id}"
    )));

    // Doctor reads the same account: the certificate and the Route 53 records, the DNS answers
    // given (here: the alias resolves to the distribution's addresses through Route 53's alias).
    let dist: Distribution = serde_json::from_value(json!({
        "Id": "E1", "ARN": "arn:aws:cloudfront::123456789012:distribution/E1", "Status": "Deployed",
        "DomainName": "d111111abcdef8.cloudfront.net",
        "DistributionConfig": {
            "Aliases": {"Quantity": 1, "Items": ["images.example.com"]},
            "ViewerCertificate": {"CloudFrontDefaultCertificate": false, "ACMCertificateArn": arn,
                "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"},
            "Origins": {"Quantity": 0},
            "DefaultCacheBehavior": {"TargetOriginId": "x"}
        }
    }))
    .unwrap();
    let mut errors = Vec::new();
    let mut asked = Vec::new();
    let df = doc::collect_with(&aws, &dist, &mut errors, &mut |_| {}, &mut |name| {
        asked.push(name.to_owned());
        Lookup {
            resolver: "192.0.2.53:53".into(),
            addresses: vec!["18.244.146.12".into()],
            ..Lookup::default()
        }
    })
    .unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        asked,
        ["images.example.com", "d111111abcdef8.cloudfront.net"]
    );
    assert_eq!(
        df.certificate.as_ref().unwrap().certificate.status,
        "ISSUED"
    );
    assert_eq!(df.route53["images.example.com"].zone_id, zone_id);
    let facts = Facts {
        distribution: GetDistribution { distribution: dist },
        domain: Some(df),
        ..Facts::default()
    };
    let lines = doc::checks(&facts);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines.iter().all(|l| l.ok), "{lines:#?}");
}

#[test]
fn refuses_certificates_cloudfront_cannot_use_on_moto() {
    let (_moto, aws) = start_moto();
    let other = aws
        .call(
            "us-east-1",
            &[
                "acm",
                "request-certificate",
                "--domain-name",
                "www.example.org",
                "--validation-method",
                "DNS",
            ],
        )
        .unwrap()["CertificateArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let err = |arn: &str| {
        domain::check_certificate_with(&aws, arn, "images.example.com", &QUICK, &mut |_| {})
            .unwrap_err()
            .to_string()
    };
    let e = err(&other);
    assert!(
        e.contains("covers www.example.org, not images.example.com"),
        "{e}"
    );
    let e =
        err("arn:aws:acm:eu-west-1:123456789012:certificate/5c6d7e8f-0a1b-4c2d-9e3f-4a5b6c7d8e9f");
    assert!(
        e.contains("is in eu-west-1, but CloudFront uses ACM certificates from us-east-1 only"),
        "{e}"
    );
    let e =
        err("arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000");
    assert!(e.contains("no certificate"), "{e}");
    let e = err("images.example.com");
    assert!(e.contains("not an ACM certificate ARN"), "{e}");
    // A certificate for another name is not reused: a new one is requested.
    let mut lines = Vec::new();
    let arn = domain::ensure_certificate_with(&aws, "images.example.com", None, &QUICK, &mut |l| {
        lines.push(l.to_owned())
    })
    .unwrap();
    assert_ne!(arn, other);
    // Without a zone, the records to add are printed.
    let text = lines.join("\n");
    assert!(
        text.contains("add these DNS records at your DNS provider"),
        "{text}"
    );
    assert!(
        text.contains("_d930b28be6c5927595552b219965053e.images.example.com.  CNAME  "),
        "{text}"
    );
    // A wrong zone fails before anything is requested.
    let e = domain::ensure_certificate_with(
        &aws,
        "img.example.net",
        Some("example.net"),
        &QUICK,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("no public Route 53 hosted zone example.net"),
        "{e}"
    );
    let listed = aws
        .call("us-east-1", &["acm", "list-certificates"])
        .unwrap();
    assert_eq!(
        listed["CertificateSummaryList"].as_array().unwrap().len(),
        2
    );
}

/// A stand-in ACM: no certificate to reuse, a request answered with `ARN`, and `describe` as given.
fn acm_stand_in(name: &str, describe: &Value) -> Aws {
    let dir = common::scratch(name);
    std::fs::write(dir.join("describe.json"), describe.to_string()).unwrap();
    let cases = format!(
        "  \"acm list-certificates\") echo '{{\"CertificateSummaryList\": []}}' ;;\n  \"acm request-certificate\") echo '{{\"CertificateArn\": \"{ARN}\"}}' ;;\n  \"acm describe-certificate\") cat '{}' ;;",
        dir.join("describe.json").display()
    );
    Aws::with_program(common::stand_in(&dir, &cases))
}

const ARN: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

fn described(status: &str, reason: Option<&str>) -> Value {
    let mut c = json!({"Certificate": {
        "CertificateArn": ARN, "DomainName": "images.example.com", "SubjectAlternativeNames": ["images.example.com"],
        "Status": status, "Type": "AMAZON_ISSUED",
        "DomainValidationOptions": [{"DomainName": "images.example.com", "ValidationDomain": "images.example.com",
            "ValidationStatus": if status == "PENDING_VALIDATION" { "PENDING_VALIDATION" } else { "FAILED" }, "ValidationMethod": "DNS",
            "ResourceRecord": {"Name": "_5f1c.images.example.com.", "Type": "CNAME", "Value": "_9e2d.acm-validations.aws."}}]}});
    if let Some(r) = reason {
        c["Certificate"]["FailureReason"] = json!(r);
    }
    c
}

#[test]
fn end_states_moto_never_reaches() {
    let short = Wait {
        timeout: Duration::from_millis(300),
        every: Duration::from_millis(50),
    };
    let run = |name: &str, d: Value| {
        let mut lines = Vec::new();
        let r = domain::ensure_certificate_with(
            &acm_stand_in(name, &d),
            "images.example.com",
            None,
            &short,
            &mut |l| lines.push(l.to_owned()),
        );
        (r.map_err(|e| e.to_string()), lines.join("\n"))
    };
    let (r, _) = run("acm-failed", described("FAILED", Some("CAA_ERROR")));
    let e = r.unwrap_err();
    assert!(
        e.contains("ACM could not issue certificate")
            && e.contains("CAA_ERROR")
            && e.contains("delete-certificate"),
        "{e}"
    );
    let (r, _) = run("acm-timed-out", described("VALIDATION_TIMED_OUT", None));
    let e = r.unwrap_err();
    assert!(
        e.contains("did not find its DNS validation record within 72 hours"),
        "{e}"
    );
    let (r, _) = run("acm-revoked", described("REVOKED", Some("KEY_COMPROMISE")));
    assert!(r
        .unwrap_err()
        .contains("is REVOKED, not usable by CloudFront"));
    // Still pending when the wait runs out: the records, and what to do next.
    let (r, text) = run("acm-pending", described("PENDING_VALIDATION", None));
    let e = r.unwrap_err();
    assert!(
        e.contains("still PENDING_VALIDATION after")
            && e.contains("_5f1c.images.example.com. CNAME _9e2d.acm-validations.aws.")
            && e.contains("run the same deploy again"),
        "{e}"
    );
    assert!(
        text.contains("_5f1c.images.example.com.  CNAME  _9e2d.acm-validations.aws."),
        "{text}"
    );
    assert!(
        text.contains("waiting for ACM to validate images.example.com (PENDING_VALIDATION"),
        "{text}"
    );
}
