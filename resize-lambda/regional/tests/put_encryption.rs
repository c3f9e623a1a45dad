//! The native PUT (`resize_lambda::s3::put`, shared by the regional Lambda and `serve --s3`)
//! sends the encryption a `Write` asks for as `x-amz-server-side-encryption*` headers, signed
//! with the rest (SigV4's `SignedHeaders`), and nothing of the kind when it asks for none:
//! against a small local HTTP server that records the request and answers as S3 does.
//! (s3s-fs ignores these headers; tests/origin checks a real PUT with them end to end.)
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use resize_lambda::{Encryption, SseAlgorithm, Write};

const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// One PUT's headers (names in lower case), answered 200 with an ETag.
fn recorded_put(write: &Write) -> Vec<(String, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut headers = Vec::new();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap(); // request line
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':').unwrap();
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let mut conn = conn;
        conn.write_all(b"HTTP/1.1 200 OK\r\nETag: \"put\"\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        tx.send(headers).unwrap();
    });
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("k", "s", None, None, "test"))
        .endpoint_url(format!("http://{addr}"))
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let etag = runtime
        .block_on(resize_lambda::s3::put(&client, "bucket", write))
        .unwrap();
    assert_eq!(etag.as_deref(), Some("\"put\""));
    rx.recv().unwrap()
}

fn write(encryption: Option<Encryption>) -> Write {
    Write {
        key: "_sf/photos/a.jpg/g0000000/w640-h0-cover-q75.webp".into(),
        body: b"RIFF\0\0\0\0WEBPVP8 ".to_vec(),
        content_type: "image/webp",
        cache_control: "public, max-age=3600, s-maxage=31536000".into(),
        metadata: vec![("source-etag", "\"e\"".into())],
        encryption,
    }
}

fn signed_headers(headers: &[(String, String)]) -> Vec<String> {
    let auth = &headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .unwrap()
        .1;
    let list = auth
        .split(", ")
        .find_map(|p| p.strip_prefix("SignedHeaders="))
        .unwrap_or_else(|| panic!("no SignedHeaders in {auth}"));
    list.split(';').map(str::to_string).collect()
}

#[test]
fn the_put_sends_and_signs_the_encryption_headers_the_write_asks_for() {
    let kms = Encryption::new(SseAlgorithm::AwsKms, Some(KEY.into()), Some(true)).unwrap();
    for encryption in [Encryption::aes256(), kms] {
        let headers = recorded_put(&write(Some(encryption.clone())));
        let sent: Vec<(&str, String)> = headers
            .iter()
            .filter(|(n, _)| n.starts_with("x-amz-server-side-encryption"))
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        assert_eq!(sent, encryption.headers(), "exactly the type's headers");
        let signed = signed_headers(&headers);
        for (name, _) in encryption.headers() {
            assert!(
                signed.iter().any(|s| s == name),
                "{name} signed: {signed:?}"
            );
        }
    }
}

#[test]
fn no_encryption_asked_for_no_header_sent() {
    let headers = recorded_put(&write(None));
    assert!(
        !headers
            .iter()
            .any(|(n, _)| n.starts_with("x-amz-server-side-encryption")),
        "{headers:?}"
    );
    assert!(headers
        .iter()
        .any(|(n, v)| n == "x-amz-meta-source-etag" && v == "\"e\""));
}
