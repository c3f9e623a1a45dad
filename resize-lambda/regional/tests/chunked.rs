//! The native S3 read (`resize_lambda::s3::read`, shared by the regional Lambda and `serve --s3`)
//! holds its byte cap when the body comes without `Content-Length`: against a small local HTTP
//! server that answers `GetObject` in chunked encoding, as a proxy or an S3-compatible store may.
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use resize_lambda::{Read, ReadResult};

/// Answers each request with `total` bytes of `byte` in 64 KiB chunks, no `Content-Length`;
/// sends how many body bytes each connection took before it ended (or the client hung up).
fn chunked_server(total: usize, byte: u8) -> (SocketAddr, mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let head = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nETag: \"chunked\"\r\n\
                            Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\nTransfer-Encoding: chunked\r\n\r\n";
                let chunk = vec![byte; 64 << 10];
                let mut sent = 0;
                let mut send = || -> std::io::Result<()> {
                    conn.write_all(head.as_bytes())?;
                    while sent < total {
                        let n = chunk.len().min(total - sent);
                        write!(conn, "{n:x}\r\n")?;
                        conn.write_all(&chunk[..n])?;
                        conn.write_all(b"\r\n")?;
                        sent += n;
                    }
                    conn.write_all(b"0\r\n\r\n")?;
                    conn.flush()
                };
                let _ = send();
                let _ = tx.send(sent);
            });
        }
    });
    (addr, rx)
}

fn client(addr: SocketAddr) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("k", "s", None, None, "test"))
        .endpoint_url(format!("http://{addr}"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn whole(max_bytes: u64) -> Read {
    Read {
        key: "photos/a.jpg".into(),
        start: 0,
        len: None,
        max_bytes,
        if_match: None,
    }
}

// Two threads: the dropped connection is closed by a task of the runtime while this one waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_without_content_length_over_the_cap_is_refused_while_it_streams() {
    let total = 256 << 20;
    let (addr, sent) = chunked_server(total, 0x5a);
    let cap = 1 << 20;
    let result = resize_lambda::s3::read(&client(addr), "bucket", &whole(cap)).await;
    let ReadResult::TooLarge { meta } = result else {
        panic!("not refused: {result:?}")
    };
    assert_eq!(meta.size, cap + 1, "refused as one byte over the cap");
    // The read stopped early: the server could not send the rest (socket buffers aside).
    let sent = tokio::task::spawn_blocking(move || sent.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the client hung up");
    assert!(sent < total / 4, "the server sent {sent} of {total} bytes");
    println!("refused after the server sent {sent} of {total} bytes (cap {cap})");
}

#[tokio::test]
async fn a_body_without_content_length_under_the_cap_is_read_whole() {
    let total = 300_000;
    let (addr, _) = chunked_server(total, 0x42);
    let result = resize_lambda::s3::read(&client(addr), "bucket", &whole(1 << 20)).await;
    let ReadResult::Found { meta, body } = result else {
        panic!("not found: {result:?}")
    };
    assert_eq!(body.len(), total);
    assert!(body.iter().all(|&b| b == 0x42));
    assert_eq!(meta.etag.as_deref(), Some("\"chunked\""));
    // At the cap exactly is still under it.
    let (addr, _) = chunked_server(total, 0x42);
    let result = resize_lambda::s3::read(&client(addr), "bucket", &whole(total as u64)).await;
    assert!(matches!(result, ReadResult::Found { body, .. } if body.len() == total));
}
