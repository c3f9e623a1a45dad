//! The rendered templates, parsed back, checked for what cfn-lint does not know: Lambda@Edge's rules,
//! the cache key, the role's trust and write scope, the regional failover. Also keeps the committed
//! examples (`infra/examples/`, linted by tests/steps/40-infra.sh) in step with the templates:
//! `UPDATE_EXPECT=1 cargo test -p infra --test templates` rewrites them.
use infra::policy;
use infra::{render, Artifact, Mode, Params};
use serde_json::{json, Value};

/// A viewer function with everything that could break a YAML block: a leading-space first line, blank
/// lines, quotes, `${…}`, `{{…}}`, `#`, tabs, non-ASCII.
const TRICKY_CODE: &str = "  // leading spaces on the first line\nfunction handler(event) {\n\n  var r = event.request; // \"quoted\" 'single' ${notsub} {{notplaceholder}} # not a comment\n\tvar s = `tpl ${r.uri}`; // tab, template literal, é ü 写真\n  return r;\n}\n";

fn params() -> Params {
    Params {
        stack_name: "scalefront".into(),
        bucket: "example-photos".into(),
        bucket_region: "eu-west-1".into(),
        create_bucket: false,
        prefix: "_sf".into(),
        viewer_function_code: "function handler(event) {\n  return event.request;\n}\n".into(),
        spec_fingerprint: "spec-v1".into(),
        artifact_bucket: Some("scalefront-artifacts-123456789012".into()),
        edge_package: Artifact::of("origin-response", b"edge zip bytes"),
        regional_package: Artifact::of("regional", b"regional zip bytes"),
        memory_mb: infra::template::DEFAULT_MEMORY_MB,
        test_key: "photos/Further 1.jpg".into(),
        negotiates_format: true,
        origin_shield: Some("eu-west-1".into()),
        signing_keys_object: None,
        read_scope: String::new(),
        kms_key_arn: None,
        domain: None,
    }
}

fn parse(text: &str) -> Value {
    serde_norway::from_str(text).expect("rendered template is YAML")
}

fn resources_of<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

fn one<'a>(t: &'a Value, ty: &str) -> &'a Value {
    let r = resources_of(t, ty);
    assert_eq!(r.len(), 1, "exactly one {ty}");
    &r[0].1["Properties"]
}

fn behaviours(t: &Value) -> Vec<&Value> {
    let d = &one(t, "AWS::CloudFront::Distribution")["DistributionConfig"];
    let mut b = vec![&d["DefaultCacheBehavior"]];
    if let Some(more) = d["CacheBehaviors"].as_array() {
        b.extend(more);
    }
    b
}

/// The checks both modes share.
fn common(t: &Value, p: &Params) {
    // The viewer function: exact code, cloudfront-js-2.0, published, on viewer-request.
    let f = one(t, "AWS::CloudFront::Function");
    assert_eq!(f["FunctionCode"], p.viewer_function_code.as_str());
    assert_eq!(f["FunctionConfig"]["Runtime"], "cloudfront-js-2.0");
    assert_eq!(f["AutoPublish"], true);
    // The cache key: the URI alone.
    let cp = &one(t, "AWS::CloudFront::CachePolicy")["CachePolicyConfig"];
    let k = &cp["ParametersInCacheKeyAndForwardedToOrigin"];
    assert_eq!(k["HeadersConfig"], json!({"HeaderBehavior": "none"}));
    assert_eq!(k["CookiesConfig"], json!({"CookieBehavior": "none"}));
    assert_eq!(
        k["QueryStringsConfig"],
        json!({"QueryStringBehavior": "none"})
    );
    assert!(cp["MaxTTL"].as_u64().unwrap() >= 31_536_000, "long TTLs");
    // The numbers `scalefront serve` models CloudFront with (viewer_fn::cdn). MinTTL 0 is what
    // makes CloudFront honour no-store on an answer to HEAD (body-less; GET shares its entry)
    // and on a redirect to a just-stored variant.
    assert_eq!(cp["MinTTL"], 0);
    assert_eq!(cp["MinTTL"], viewer_fn::cdn::MIN_TTL);
    assert_eq!(cp["DefaultTTL"], viewer_fn::cdn::DEFAULT_TTL);
    assert_eq!(cp["MaxTTL"], viewer_fn::cdn::MAX_TTL);
    // No Accept-Encoding in the key: images are never compressed, and each variant would be
    // cached (and fetched through origin-response) up to three times.
    assert_eq!(k["EnableAcceptEncodingGzip"], false);
    assert_eq!(k["EnableAcceptEncodingBrotli"], false);
    let (policy_id, _) = resources_of(t, "AWS::CloudFront::CachePolicy")[0];
    let fn_id = resources_of(t, "AWS::CloudFront::Function")[0].0;
    for b in behaviours(t) {
        assert_eq!(b["CachePolicyId"], json!({"Ref": policy_id}));
        assert!(b.get("ForwardedValues").is_none());
        let fa = b["FunctionAssociations"].as_array().unwrap();
        assert_eq!(fa.len(), 1);
        assert_eq!(fa[0]["EventType"], "viewer-request");
        assert_eq!(
            fa[0]["FunctionARN"],
            json!({"Fn::GetAtt": [fn_id, "FunctionARN"]})
        );
        assert_eq!(b["ViewerProtocolPolicy"], "redirect-to-https");
        assert_eq!(
            b["Compress"], false,
            "compression needs Accept-Encoding in the key"
        );
        // Vary: Accept on every response of the behaviour, cached or not (S3 cannot store it).
        let vary = resources_of(t, "AWS::CloudFront::ResponseHeadersPolicy");
        let [(vary_id, policy)] = &vary[..] else {
            panic!("one response headers policy")
        };
        assert_eq!(
            b["ResponseHeadersPolicyId"],
            json!({"Fn::If": ["NegotiatesFormat", {"Ref": vary_id}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(policy["Condition"], "NegotiatesFormat");
        assert_eq!(
            policy["Properties"]["ResponseHeadersPolicyConfig"]["CustomHeadersConfig"]["Items"],
            json!([{"Header": "Vary", "Value": "Accept", "Override": true}])
        );
    }
    assert_eq!(
        t["Conditions"]["NegotiatesFormat"],
        json!({"Fn::Equals": [{"Ref": "VaryOnAccept"}, "true"]})
    );
    assert_eq!(
        t["Parameters"]["VaryOnAccept"]["Default"],
        p.negotiates_format.to_string()
    );
    let d = &one(t, "AWS::CloudFront::Distribution")["DistributionConfig"];
    // Transient failures kept for the short ErrorCachingMinTTL, 404 for its max-age exactly, the
    // other codes for their max-age (viewer_fn::cdn, which `serve` models CloudFront with).
    let errors = d["CustomErrorResponses"].as_array().unwrap();
    let rendered: Vec<(u64, u64)> = errors
        .iter()
        .map(|e| {
            assert!(
                e.get("ResponsePagePath").is_none(),
                "the origin's own body is kept"
            );
            (
                e["ErrorCode"].as_u64().unwrap(),
                e["ErrorCachingMinTTL"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(u64, u64)> = viewer_fn::cdn::ERROR_CACHING
        .iter()
        .map(|&(c, t)| (u64::from(c), t))
        .collect();
    assert_eq!(rendered, expected);
    // Origin Shield in front of the bucket, in the region deploy chose.
    for o in d["Origins"].as_array().unwrap() {
        match (&p.origin_shield, o.get("S3OriginConfig").is_some()) {
            (Some(r), true) => assert_eq!(
                o["OriginShield"],
                json!({"Enabled": true, "OriginShieldRegion": r})
            ),
            // The function URL sits in the bucket's region too (regional mode).
            (Some(r), false) => assert_eq!(
                o["OriginShield"],
                json!({"Enabled": true, "OriginShieldRegion": r})
            ),
            (None, _) => assert_eq!(o["OriginShield"], json!({"Enabled": false})),
        }
    }
    assert_eq!(d["HttpVersion"], "http2and3");
    // S3 through OAC, never OAI or a public bucket.
    let s3 = d["Origins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o.get("S3OriginConfig").is_some())
        .expect("an S3 origin");
    assert_eq!(s3["S3OriginConfig"]["OriginAccessIdentity"], "");
    let oac_id = s3["OriginAccessControlId"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    let oac = &t["Resources"][oac_id]["Properties"]["OriginAccessControlConfig"];
    assert_eq!(
        (
            oac["OriginAccessControlOriginType"].as_str(),
            oac["SigningBehavior"].as_str()
        ),
        (Some("s3"), Some("always"))
    );
    assert_eq!(
        s3["DomainName"]["Fn::If"][2],
        format!("{}.s3.{}.amazonaws.com", p.bucket, p.bucket_region)
    );
    // The bucket policy: CloudFront reads, for this distribution only.
    let bp = &one(t, "AWS::S3::BucketPolicy")["PolicyDocument"];
    let stmts = policy::statements(bp);
    assert_eq!(stmts.len(), 1);
    assert!(stmts[0].has_principal("Service", "cloudfront.amazonaws.com"));
    assert_eq!(stmts[0].actions, ["s3:GetObject"]);
    assert!(bp.to_string().contains("distribution/${Distribution}"));
    // The role lives with the function: in this stack for edge mode, in the function's own
    // stack for regional mode (regional_template_fails_over_to_the_function_url checks it there).
    if !resources_of(t, "AWS::IAM::Role").is_empty() {
        role_grants(t, p);
    }
    // Outputs a user needs.
    let out = &t["Outputs"];
    assert!(out["TestUrl"]["Value"]["Fn::Sub"]
        .as_str()
        .unwrap()
        .ends_with("/photos/Further%201.jpg?w=600"));
    assert!(out.get("DistributionDomain").is_some());
}

/// The function's role: read the bucket, list it (404 not 403), write under the prefix only.
fn role_grants(t: &Value, p: &Params) {
    // The function's role (next to the bucket there is also the purge's, checked apart).
    let roles: Vec<_> = resources_of(t, "AWS::IAM::Role")
        .into_iter()
        .filter(|(name, _)| name.as_str() != "PurgeRole")
        .collect();
    assert_eq!(roles.len(), 1, "one function role");
    let role = &roles[0].1["Properties"];
    let docs: Vec<Value> = role["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PolicyDocument"].clone())
        .collect();
    let s: Vec<_> = docs.iter().flat_map(policy::statements).collect();
    let b = &p.bucket;
    assert!(policy::allows(
        &s,
        "s3:GetObject",
        &format!("arn:aws:s3:::{b}/photos/a.jpg")
    ));
    assert!(policy::allows(
        &s,
        "s3:ListBucket",
        &format!("arn:aws:s3:::{b}")
    ));
    assert!(policy::allows(
        &s,
        "s3:PutObject",
        &format!(
            "arn:aws:s3:::{b}/{}/a.jpg/g0000000/w600-h0-cover-q75.webp",
            p.prefix
        )
    ));
    assert!(
        !policy::allows(
            &s,
            "s3:PutObject",
            &format!("arn:aws:s3:::{b}/photos/a.jpg")
        ),
        "originals are read-only (I3)"
    );
    assert!(
        !policy::allows(
            &s,
            "s3:PutObject",
            &format!("arn:aws:s3:::{b}/{}x/a.jpg", p.prefix)
        ),
        "the prefix is a whole segment"
    );
    assert_eq!(
        policy::allowed_resources(&s, "s3:PutObject"),
        [format!("arn:aws:s3:::{b}/{}/*", p.prefix)]
    );
    assert!(!s.iter().any(|st| st.covers_action("s3:DeleteObject")));
    assert_eq!(
        role["ManagedPolicyArns"],
        json!(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"])
    );
}

#[test]
fn edge_template_obeys_lambda_edge_rules() {
    let p = params();
    let t = parse(&render(Mode::Edge, &p).unwrap());
    common(&t, &p);
    let f = one(&t, "AWS::Lambda::Function");
    assert!(
        f.get("Environment").is_none(),
        "Lambda@Edge refuses environment variables"
    );
    assert_eq!(f["Architectures"], json!(["x86_64"]));
    assert!(infra::runtime::lookup(f["Runtime"].as_str().unwrap()).is_some());
    assert_eq!(f["Runtime"], infra::template::EDGE_RUNTIME);
    assert!(f.get("Layers").is_none() && f.get("PackageType").is_none());
    assert!(
        f["Timeout"].as_u64().unwrap() <= 30,
        "origin events allow 30 s"
    );
    assert_eq!(f["Code"]["S3Key"], p.edge_package.key.as_str());
    // The role trusts both services.
    let trust = policy::statements(&one(&t, "AWS::IAM::Role")["AssumeRolePolicyDocument"]);
    for svc in ["lambda.amazonaws.com", "edgelambda.amazonaws.com"] {
        assert!(
            trust.iter().any(|s| s.allow
                && s.covers_action("sts:AssumeRole")
                && s.has_principal("Service", svc)),
            "trusts {svc}"
        );
    }
    // Every association: a numbered version (Ref of an AWS::Lambda::Version), on origin-response.
    let versions: Vec<&String> = resources_of(&t, "AWS::Lambda::Version")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut n = 0;
    for b in behaviours(&t) {
        for a in b["LambdaFunctionAssociations"].as_array().unwrap() {
            n += 1;
            assert_eq!(a["EventType"], "origin-response");
            assert_eq!(a["IncludeBody"], false);
            let arn = &a["LambdaFunctionARN"];
            let numbered = arn["Ref"]
                .as_str()
                .is_some_and(|r| versions.iter().any(|v| *v == r))
                || arn.as_str().is_some_and(|s| {
                    s.rsplit(':')
                        .next()
                        .unwrap()
                        .bytes()
                        .all(|c| c.is_ascii_digit())
                });
            assert!(numbered, "association {arn} must be a numbered version");
        }
    }
    assert_eq!(n, 1);
    let v = one(&t, "AWS::Lambda::Version");
    assert_eq!(v["CodeSha256"], p.edge_package.code_sha256().as_str());
    let (vid, vres) = resources_of(&t, "AWS::Lambda::Version")[0];
    assert_eq!(
        vres["UpdateReplacePolicy"], "Retain",
        "{vid}: old versions stay while replicas use them"
    );
}

#[test]
fn regional_template_fails_over_to_the_function_url() {
    let p = params();
    let t = parse(&render(Mode::Regional, &p).unwrap());
    common(&t, &p);
    assert!(resources_of(&t, "AWS::Lambda::Version").is_empty());
    for b in behaviours(&t) {
        assert!(
            b.get("LambdaFunctionAssociations").is_none(),
            "no Lambda@Edge in regional mode"
        );
    }
    // The function, its URL, role and permissions: in the function's stack, next to the bucket.
    assert!(resources_of(&t, "AWS::Lambda::Function").is_empty());
    assert!(resources_of(&t, "AWS::IAM::Role").is_empty());
    let ft = parse(&infra::template::render_region(Mode::Regional, &p).unwrap());
    role_grants(&ft, &p);
    assert_eq!(
        ft["Parameters"]["ArtifactBucket"]["Default"],
        "scalefront-artifacts-123456789012-eu-west-1",
        "the package sits in the function's region"
    );
    let f = &ft["Resources"]["ResizeFunction"]["Properties"];
    assert_eq!(f["Runtime"], "provided.al2023");
    assert_eq!(f["Handler"], "bootstrap");
    assert_eq!(f["Code"]["S3Key"], p.regional_package.key.as_str());
    assert_eq!(one(&ft, "AWS::Lambda::Url")["AuthType"], "AWS_IAM");
    let d = &one(&t, "AWS::CloudFront::Distribution")["DistributionConfig"];
    let groups = d["OriginGroups"]["Items"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(
        g["FailoverCriteria"]["StatusCodes"]["Items"],
        json!([403, 404])
    );
    let members: Vec<&str> = g["Members"]["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["OriginId"].as_str().unwrap())
        .collect();
    let origins = d["Origins"].as_array().unwrap();
    let by_id = |id: &str| origins.iter().find(|o| o["Id"] == id).unwrap();
    assert!(
        by_id(members[0]).get("S3OriginConfig").is_some(),
        "S3 is the primary"
    );
    let url = by_id(members[1]);
    assert_eq!(url["DomainName"], json!({"Ref": "FunctionUrlDomain"}));
    assert_eq!(
        ft["Outputs"]["FunctionUrlDomain"]["Value"]["Fn::Select"][0], 2,
        "the host of https://<id>.lambda-url.<region>.on.aws/"
    );
    let oac_id = url["OriginAccessControlId"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    assert_eq!(
        t["Resources"][oac_id]["Properties"]["OriginAccessControlConfig"]
            ["OriginAccessControlOriginType"],
        "lambda"
    );
    assert_eq!(d["DefaultCacheBehavior"]["TargetOriginId"], g["Id"]);
    // Stack exports do not cross regions: the permissions name the distribution by parameter,
    // and exist only once it is known (deploy's wire step).
    let mut actions: Vec<&str> = resources_of(&ft, "AWS::Lambda::Permission")
        .into_iter()
        .filter(|(name, _)| name.as_str() != "PurgeInvokePermission")
        .map(|(_, r)| {
            assert_eq!(r["Condition"], "ResizesForDistribution");
            let p = &r["Properties"];
            assert_eq!(p["Principal"], "cloudfront.amazonaws.com");
            assert!(p["SourceArn"]
                .to_string()
                .contains("distribution/${DistributionId}"));
            p["Action"].as_str().unwrap()
        })
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    );
    let trust = policy::statements(
        &ft["Resources"]["ResizeRole"]["Properties"]["AssumeRolePolicyDocument"],
    );
    assert!(trust[0].has_principal("Service", "lambda.amazonaws.com"));
}

#[test]
fn a_spec_or_package_change_publishes_a_new_version() {
    let p = params();
    let version = |p: &Params| {
        one(
            &parse(&render(Mode::Edge, p).unwrap()),
            "AWS::Lambda::Version",
        )
        .clone()
    };
    let before = version(&p);
    // Same inputs, same template: no needless new version.
    assert_eq!(before, version(&p));
    // AWS::Lambda::Version's Description and CodeSha256 need replacement: a change means a new version.
    let spec_changed = version(&Params {
        spec_fingerprint: "spec-v2".into(),
        ..p.clone()
    });
    assert_ne!(before["Description"], spec_changed["Description"]);
    let code_changed = version(&Params {
        edge_package: Artifact::of("origin-response", b"other"),
        ..p.clone()
    });
    assert_ne!(before["CodeSha256"], code_changed["CodeSha256"]);
    assert_ne!(before["Description"], code_changed["Description"]);
    // A published version freezes its configuration: a new memory size publishes a new one.
    let memory_changed = version(&Params {
        memory_mb: 3008,
        ..p.clone()
    });
    assert_eq!(before["CodeSha256"], memory_changed["CodeSha256"]);
    assert_ne!(before["Description"], memory_changed["Description"]);
    assert!(memory_changed["Description"]
        .as_str()
        .unwrap()
        .contains("3008 MB"));
}

#[test]
fn the_viewer_function_code_survives_yaml_exactly() {
    for code in [
        TRICKY_CODE,
        TRICKY_CODE.trim_end(),
        &format!("{TRICKY_CODE}\n\n"),
        "x",
    ] {
        let p = Params {
            viewer_function_code: code.to_owned(),
            ..params()
        };
        for mode in [Mode::Edge, Mode::Regional] {
            let t = parse(&render(mode, &p).unwrap());
            let want = format!("{}\n", code.trim_end_matches('\n'));
            assert_eq!(
                one(&t, "AWS::CloudFront::Function")["FunctionCode"],
                want.as_str(),
                "{mode:?}"
            );
        }
    }
}

#[test]
fn new_bucket_mode_and_missing_artifact_bucket() {
    let p = Params {
        create_bucket: true,
        bucket_region: "us-east-1".into(),
        artifact_bucket: None,
        ..params()
    };
    let text = render(Mode::Edge, &p).unwrap();
    let t = parse(&text);
    assert_eq!(t["Parameters"]["CreateBucket"]["Default"], "true");
    assert!(t["Parameters"]["ArtifactBucket"].get("Default").is_none());
    let bucket = &t["Resources"]["PhotoBucket"];
    assert_eq!(
        bucket["DeletionPolicy"], "Retain",
        "the photos outlive the stack"
    );
    assert_eq!(
        bucket["Properties"]["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        "BucketOwnerEnforced"
    );
}

#[test]
fn refuses_values_that_cannot_be_right() {
    let p = params();
    let bad = [
        Params {
            bucket: "Photos_Bucket".into(),
            ..p.clone()
        },
        Params {
            bucket: "a\"b".into(),
            ..p.clone()
        },
        Params {
            bucket_region: "europe".into(),
            ..p.clone()
        },
        Params {
            stack_name: "my stack".into(),
            ..p.clone()
        },
        Params {
            stack_name: "x".repeat(41),
            ..p.clone()
        },
        Params {
            prefix: "../x".into(),
            ..p.clone()
        },
        Params {
            prefix: "".into(),
            ..p.clone()
        },
        Params {
            create_bucket: true,
            ..p.clone()
        },
        Params {
            viewer_function_code: "x".repeat(10 * 1024 + 1),
            ..p.clone()
        },
        Params {
            viewer_function_code: "a\r\nb".into(),
            ..p.clone()
        },
        Params {
            memory_mb: 64,
            ..p.clone()
        },
        Params {
            test_key: "\"quoted\"".into(),
            ..p.clone()
        },
    ];
    for b in &bad {
        // test_key is percent-encoded, so it is the one that must render fine.
        let r = render(Mode::Edge, b);
        if b.test_key != p.test_key {
            assert!(r.is_ok());
            assert!(r.unwrap().contains("%22quoted%22?w=600"));
        } else {
            assert!(r.is_err(), "{b:?} should be refused");
        }
    }
}

#[test]
fn origin_shield_sits_in_or_next_to_the_buckets_region() {
    use infra::template::origin_shield_region;
    assert_eq!(origin_shield_region("eu-west-1"), Some("eu-west-1"));
    assert_eq!(origin_shield_region("eu-north-1"), Some("eu-west-2"));
    assert_eq!(origin_shield_region("ca-central-1"), Some("us-east-1"));
    assert_eq!(origin_shield_region("mars-north-1"), None);
    for (mode, negotiates, shield) in [
        (Mode::Edge, false, None),
        (Mode::Regional, false, Some("us-west-2")),
        (Mode::Regional, true, None),
    ] {
        let p = Params {
            negotiates_format: negotiates,
            origin_shield: shield.map(String::from),
            ..params()
        };
        common(&parse(&render(mode, &p).unwrap()), &p);
    }
}

#[test]
fn committed_examples_are_current() {
    let p = Params {
        viewer_function_code: TRICKY_CODE.into(),
        ..params()
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let renders = [Mode::Edge, Mode::Regional].into_iter().flat_map(|mode| {
        [
            (mode.file_name(), render(mode, &p).unwrap()),
            (
                mode.region_file_name(),
                infra::template::render_region(mode, &p).unwrap(),
            ),
        ]
    });
    for (name, text) in renders {
        let path = dir.join(name);
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{} is stale: run UPDATE_EXPECT=1 cargo test -p infra --test templates",
            path.display()
        );
    }
}

#[test]
fn fits_the_template_body_limit_with_the_largest_viewer_function() {
    // deploy passes the template inline (--template-body), which CloudFormation caps at 51,200 bytes;
    // the largest CloudFront Function (10 KB) must still fit.
    let line = "var a = 1; // padding up to the CloudFront Functions limit\n";
    let code: String = line.repeat(10 * 1024 / line.len());
    assert!(code.len() <= 10 * 1024 && code.len() > 10 * 1024 - line.len());
    let p = Params {
        viewer_function_code: code,
        ..params()
    };
    for mode in [Mode::Edge, Mode::Regional] {
        let len = render(mode, &p).unwrap().len();
        assert!(len < 51_200, "{mode:?}: {len} bytes");
    }
}

#[test]
fn a_signed_function_gets_a_key_value_store_imported_from_its_keys_and_only_it() {
    let signed_code = "import cf from \"cloudfront\";\nvar kvs = cf.kvs();\nasync function handler(event) {\n  return event.request;\n}\n";
    for mode in [Mode::Edge, Mode::Regional] {
        let p = Params {
            viewer_function_code: signed_code.into(),
            signing_keys_object: Some("keys/0123456789abcdef.json".into()),
            ..params()
        };
        let t = parse(&render(mode, &p).unwrap());
        assert_eq!(
            t["Parameters"]["SigningKeysObject"]["Default"],
            "keys/0123456789abcdef.json"
        );
        let kvs = &t["Resources"]["SigningKeys"];
        assert_eq!(kvs["Type"], "AWS::CloudFront::KeyValueStore");
        assert_eq!(kvs["Condition"], "SignedUrls");
        assert_eq!(kvs["Properties"]["ImportSource"]["SourceType"], "S3");
        let assoc = &t["Resources"]["ViewerRequestFunction"]["Properties"]["FunctionConfig"]
            ["KeyValueStoreAssociations"]["Fn::If"];
        assert_eq!(assoc[0], "SignedUrls");
        assert_eq!(
            assoc[1][0]["KeyValueStoreARN"]["Fn::GetAtt"][0],
            "SigningKeys"
        );
        // Unsigned: the parameter is empty, so the condition drops the store and the association.
        let plain = parse(&render(mode, &params()).unwrap());
        assert_eq!(plain["Parameters"]["SigningKeysObject"]["Default"], "");
        // A signed function without keys (or keys without one) cannot be rendered.
        let no_keys = Params {
            viewer_function_code: signed_code.into(),
            ..params()
        };
        assert!(render(mode, &no_keys).is_err());
        let stray = Params {
            signing_keys_object: Some("keys/x.json".into()),
            ..params()
        };
        assert!(render(mode, &stray).is_err());
    }
}

/// `deploy --prefix`, an SSE-KMS bucket and `--domain` as the templates carry them: CloudFront may
/// read only the folder and the variants (the bucket policy and the statement deploy merges come
/// from one function), the role may use the bucket's key and no other, the alias is served with
/// the certificate by SNI under the TLS policy infra::domain names.
#[test]
fn scope_bucket_key_and_domain_reach_the_templates() {
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let cert =
        "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab";
    let p = Params {
        read_scope: "photos/".into(),
        kms_key_arn: Some(key.into()),
        domain: Some(infra::template::Domain {
            name: "images.example.com".into(),
            certificate_arn: cert.into(),
        }),
        ..params()
    };
    let want_read = infra::deploy::grants::read_resources(&p.bucket, "photos/", &p.prefix);
    assert_eq!(want_read.len(), 2);
    for mode in [Mode::Edge, Mode::Regional] {
        let t = parse(&render(mode, &p).unwrap());
        // The key grant sits with the role: the function's stack in regional mode.
        let with_role = match mode {
            Mode::Edge => t.clone(),
            Mode::Regional => parse(&infra::template::render_region(Mode::Regional, &p).unwrap()),
        };
        assert_eq!(with_role["Parameters"]["BucketKeyArn"]["Default"], key);
        assert_eq!(t["Parameters"]["Alias"]["Default"], "images.example.com");
        assert_eq!(t["Parameters"]["CertificateArn"]["Default"], cert);
        let bp =
            &t["Resources"]["PhotoBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(bp["Resource"], json!(want_read));
        let out = t["Outputs"]["BucketPolicyStatement"]["Value"]["Fn::Sub"]
            .as_str()
            .unwrap();
        let out: Value = serde_json::from_str(out).unwrap();
        assert_eq!(out["Resource"], json!(want_read));
        let kp = &with_role["Resources"]["BucketKeyPolicy"];
        // Edge mode: whenever there is a key; next to the bucket: when it also resizes there.
        assert!(
            kp["Condition"] == "HasBucketKey" || kp["Condition"] == "ResizesWithBucketKey",
            "{kp}"
        );
        let st = &kp["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(
            (st["Action"].clone(), st["Resource"].clone()),
            (
                json!(["kms:Decrypt", "kms:GenerateDataKey"]),
                json!({"Ref": "BucketKeyArn"})
            )
        );
        let d = &one(&t, "AWS::CloudFront::Distribution")["DistributionConfig"];
        assert_eq!(d["Aliases"]["Fn::If"][1], json!([{"Ref": "Alias"}]));
        let vc = &d["ViewerCertificate"]["Fn::If"][1];
        assert_eq!(vc["SslSupportMethod"], infra::domain::SSL_SUPPORT_METHOD);
        assert_eq!(
            vc["MinimumProtocolVersion"],
            infra::domain::MINIMUM_PROTOCOL_VERSION
        );
        assert_eq!(
            d["ViewerCertificate"]["Fn::If"][2],
            json!({"CloudFrontDefaultCertificate": true})
        );
    }
    // Without them: the whole bucket, no key policy values, the default certificate.
    let t = parse(&render(Mode::Edge, &params()).unwrap());
    assert_eq!(t["Parameters"]["BucketKeyArn"]["Default"], "");
    assert_eq!(t["Parameters"]["Alias"]["Default"], "");
    assert!(t["Parameters"]["CertificateArn"]["Default"]
        .as_str()
        .unwrap()
        .ends_with("/unused"));
    // Refused: a scope that could break out of its quotes, a certificate outside us-east-1.
    let bad_scope = Params {
        read_scope: "pho\"tos/".into(),
        ..params()
    };
    assert!(render(Mode::Edge, &bad_scope).is_err());
    let eu_cert = Params {
        domain: Some(infra::template::Domain {
            name: "images.example.com".into(),
            certificate_arn: cert.replace("us-east-1", "eu-west-1"),
        }),
        ..params()
    };
    assert!(render(Mode::Edge, &eu_cert)
        .unwrap_err()
        .to_string()
        .contains("us-east-1"));
}

/// The stack next to the bucket, in both modes: the purge may list the bucket and delete under
/// the variant prefix only, invalidate this distribution only (once it is known), and runs on
/// the bucket's "Object Created"/"Object Deleted" events except those under the variant prefix
/// (its own deletes). The resize function is there in regional mode only.
#[test]
fn the_purge_runs_next_to_the_bucket_on_its_events() {
    let p = params();
    for mode in [Mode::Edge, Mode::Regional] {
        let t = parse(&infra::template::render_region(mode, &p).unwrap());
        assert_eq!(
            t["Parameters"]["Resizer"]["Default"],
            (mode == Mode::Regional).to_string()
        );
        for r in ["ResizeRole", "ResizeFunction", "ResizeFunctionUrl"] {
            assert_eq!(t["Resources"][r]["Condition"], "Resizes", "{r}");
        }
        let f = &t["Resources"]["PurgeFunction"];
        assert!(f.get("Condition").is_none(), "the purge runs in both modes");
        let f = &f["Properties"];
        assert_eq!(f["Handler"], "purge");
        assert_eq!(f["Runtime"], infra::template::REGIONAL_RUNTIME);
        assert_eq!(f["Code"]["S3Key"], p.regional_package.key.as_str());
        assert_eq!(
            f["Environment"]["Variables"]["SCALEFRONT_DISTRIBUTION_ID"],
            json!({"Ref": "DistributionId"})
        );
        let role = &t["Resources"]["PurgeRole"]["Properties"];
        let docs: Vec<Value> = role["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["PolicyDocument"].clone())
            .collect();
        let st: Vec<_> = docs.iter().flat_map(policy::statements).collect();
        let b = &p.bucket;
        assert_eq!(
            policy::allowed_resources(&st, "s3:DeleteObject"),
            [format!("arn:aws:s3:::{b}/{}/*", p.prefix)]
        );
        assert!(!policy::allows(
            &st,
            "s3:DeleteObject",
            &format!("arn:aws:s3:::{b}/photos/a.jpg")
        ));
        assert!(!st.iter().any(|s| s.covers_action("s3:PutObject")));
        let inv = &t["Resources"]["PurgeInvalidatePolicy"];
        assert_eq!(inv["Condition"], "HasDistribution");
        let inv = &inv["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(
            inv["Action"],
            json!([
                "cloudfront:CreateInvalidation",
                "cloudfront:GetDistributionConfig"
            ])
        );
        assert!(inv["Resource"]
            .to_string()
            .contains("distribution/${DistributionId}"));
        let pattern = &t["Resources"]["PurgeRule"]["Properties"]["EventPattern"];
        assert_eq!(pattern["source"], json!(["aws.s3"]));
        assert_eq!(
            pattern["detail-type"],
            json!(["Object Created", "Object Deleted"])
        );
        assert_eq!(pattern["detail"]["bucket"]["name"], json!([b]));
        assert_eq!(
            pattern["detail"]["object"]["key"],
            json!([{"anything-but": {"prefix": format!("{}/", p.prefix)}}])
        );
        let perm = &t["Resources"]["PurgeInvokePermission"]["Properties"];
        assert_eq!(perm["Principal"], "events.amazonaws.com");
        assert_eq!(
            perm["SourceArn"],
            json!({"Fn::GetAtt": ["PurgeRule", "Arn"]})
        );
    }
}

/// Purges invalidate by cache tag: the distribution names the header every variant carries its
/// original's tag in (`viewer_fn::purge`), and its properties are the ones this list knows.
#[test]
fn the_distribution_names_its_cache_tag_header_and_nothing_unknown() {
    for mode in [Mode::Edge, Mode::Regional] {
        let t = parse(&render(mode, &params()).unwrap());
        let d = &one(&t, "AWS::CloudFront::Distribution")["DistributionConfig"];
        assert_eq!(
            d["CacheTagConfig"],
            json!({"HeaderName": viewer_fn::purge::CACHE_TAG_HEADER})
        );
        let mut keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        let mut known = vec![
            "Aliases",
            "CacheTagConfig",
            "Comment",
            "CustomErrorResponses",
            "DefaultCacheBehavior",
            "Enabled",
            "HttpVersion",
            "IPV6Enabled",
            "Origins",
            "PriceClass",
            "ViewerCertificate",
        ];
        if mode == Mode::Regional {
            known.push("OriginGroups");
        }
        known.sort();
        assert_eq!(keys, known, "{mode:?}");
    }
}
