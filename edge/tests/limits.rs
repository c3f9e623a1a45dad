//! The local edge's bounds over real sockets (`local_edge::limits::Limits`): a resize slot held
//! until the resize ends when its client hangs up, the connection cap, the request-head cap,
//! slow and idle clients dropped, a client that stops reading dropped, the URL cap, a slow purge
//! body. Each test runs `http::serve` in-process with the limit under test shrunk.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use local_edge::limits::Limits;
use local_edge::origin::{Folder, Origin};
use local_edge::Edge;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Running {
    edge: Arc<Edge>,
    addr: SocketAddr,
    dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `serve` over a scratch copy of the sample photos (plus `extra` files) with `limits`.
async fn start(tag: &str, limits: Limits, extra: &[(&str, Vec<u8>)]) -> Running {
    let dir = std::env::temp_dir().join(format!("sf-limits-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    local_edge::sample::extract(&dir).unwrap();
    for (name, bytes) in extra {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let spec = viewer_fn::Spec::default();
    let cc = viewer_fn::cdn::variant_cache_control(&spec);
    let folder = Folder::new(&dir, spec.prefix(), &cc).unwrap();
    let mut edge = Edge::with_limits(spec, Origin::Folder(folder), 64 << 20, limits).unwrap();
    edge.log_flows = false;
    let edge = Arc::new(edge);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(local_edge::http::serve(listener, edge.clone(), async {
        let _ = stopped.await;
    }));
    Running {
        edge,
        addr,
        dir,
        stop: Some(stop),
    }
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
}

/// Status and body of the answer to `raw` on a connection of its own.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    read_answer(&mut s).await
}

async fn read_answer(s: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all).await;
    status_of(&all)
}

fn status_of(all: &[u8]) -> (u16, Vec<u8>) {
    let text = String::from_utf8_lossy(all);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = match all.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => all[i + 4..].to_vec(),
        None => Vec::new(),
    };
    (status, body)
}

/// Polls `cond` every 2 ms until it holds, or panics after `within`.
async fn until(within: Duration, what: &str, cond: impl Fn() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < within, "waited {within:?} for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resize_slot_is_held_until_the_resize_ends_not_until_the_client_hangs_up() {
    let limits = Limits {
        resize_slots: 1,
        ..Limits::default()
    };
    let edge = start("slot", limits, &[]).await;
    // AVIF is the slow encoder: long enough to hang up in the middle of it.
    let mut a = TcpStream::connect(edge.addr).await.unwrap();
    a.write_all(get("/cups.jpg?w=1200&f=avif").as_bytes())
        .await
        .unwrap();
    let e = edge.edge.clone();
    until(Duration::from_secs(30), "A's resize to start", || {
        e.stats().resizing == 1
    })
    .await;
    drop(a); // the client hangs up mid-resize
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        edge.edge.stats().resizing,
        1,
        "the resize runs on after the hang-up (else this test proves nothing: make it slower)"
    );
    // B wants another variant while A's resize still runs: it must wait for the one slot.
    let addr = edge.addr;
    let b = tokio::spawn(
        async move { exchange(addr, get("/storm.jpg?w=640&f=avif").as_bytes()).await },
    );
    let e = edge.edge.clone();
    until(Duration::from_secs(60), "both resizes to end", || {
        b.is_finished() && e.stats().resizing == 0
    })
    .await;
    let (status, body) = b.await.unwrap();
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    let stats = edge.edge.stats();
    assert_eq!(
        stats.resizing_peak, 1,
        "two resizes ran at once with one slot: the hung-up client's slot was freed early"
    );
    // A's flow was dropped with its client: its variant was made but never stored.
    let stored_a = walk(&edge.dir.join("_sf/cups.jpg"));
    assert!(stored_a.is_empty(), "A's flow ran to the end: {stored_a:?}");
    assert_eq!(walk(&edge.dir.join("_sf/storm.jpg")).len(), 1);
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_wait_until_one_closes() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let edge = start("conns", limits, &[]).await;
    let c1 = TcpStream::connect(edge.addr).await.unwrap();
    let _c2 = TcpStream::connect(edge.addr).await.unwrap();
    let e = edge.edge.clone();
    until(Duration::from_secs(5), "two open connections", || {
        e.stats().connections == 2
    })
    .await;
    // The third connects (the kernel's backlog) but is not served while two are open.
    let mut c3 = TcpStream::connect(edge.addr).await.unwrap();
    c3.write_all(get("/cups.jpg").as_bytes()).await.unwrap();
    let mut first = [0u8; 1];
    let waited = tokio::time::timeout(Duration::from_millis(400), c3.read(&mut first)).await;
    assert!(
        waited.is_err(),
        "served a third connection over the cap of 2"
    );
    assert_eq!(edge.edge.stats().connections, 2);
    drop(c1);
    let (status, _) = tokio::time::timeout(Duration::from_secs(10), async {
        let mut rest = Vec::new();
        c3.read_to_end(&mut rest).await.unwrap();
        rest
    })
    .await
    .map(|rest| status_of(&rest))
    .expect("served once a connection closed");
    assert_eq!(status, 200);
    assert_eq!(edge.edge.stats().connections_peak, 2);
}

#[tokio::test]
async fn a_request_head_over_20480_bytes_is_431_at_most_that_is_served() {
    let limits = Limits::default();
    assert_eq!(limits.max_header_bytes, 20_480, "CloudFront's quota");
    let edge = start("head", limits, &[]).await;
    let head = |total: usize| {
        let start = "GET /cups.jpg HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Pad: ";
        let end = "\r\n\r\n";
        let pad = "a".repeat(total - start.len() - end.len());
        let h = format!("{start}{pad}{end}");
        assert_eq!(h.len(), total);
        h
    };
    assert_eq!(exchange(edge.addr, head(20_000).as_bytes()).await.0, 200);
    assert_eq!(exchange(edge.addr, head(20_480).as_bytes()).await.0, 200);
    assert_eq!(exchange(edge.addr, head(20_481).as_bytes()).await.0, 431);
    assert_eq!(exchange(edge.addr, head(64_000).as_bytes()).await.0, 431);
    // Many small headers add up the same way.
    let many: String = (0..90)
        .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(240)))
        .collect();
    let raw = format!("GET /cups.jpg HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}\r\n");
    assert!(raw.len() > 20_480);
    assert_eq!(exchange(edge.addr, raw.as_bytes()).await.0, 431);
}

#[tokio::test]
async fn a_url_over_8192_bytes_is_414() {
    let edge = start("uri", Limits::default(), &[]).await;
    let long = format!("/cups.jpg?w=640&x={}", "a".repeat(8_192));
    assert_eq!(exchange(edge.addr, get(&long).as_bytes()).await.0, 414);
    let fits = format!("/cups.jpg?w=640&x={}", "a".repeat(8_000));
    assert_eq!(exchange(edge.addr, get(&fits).as_bytes()).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_its_head_slowly_or_nothing_is_dropped() {
    let limits = Limits {
        read_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let edge = start("slowloris", limits, &[]).await;
    // Slowloris: a header line every 100 ms, never the blank line that ends the head.
    let s = TcpStream::connect(edge.addr).await.unwrap();
    let (mut r, mut w) = s.into_split();
    let t = Instant::now();
    let dripping = tokio::spawn(async move {
        w.write_all(b"GET /cups.jpg HTTP/1.1\r\n").await?;
        for i in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            w.write_all(format!("X-Drip-{i}: x\r\n").as_bytes()).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), r.read_to_end(&mut got))
        .await
        .expect("the connection was closed");
    let closed_after = t.elapsed();
    assert!(got.is_empty(), "no answer to a head that never ended");
    assert!(
        closed_after >= Duration::from_millis(450) && closed_after < Duration::from_secs(3),
        "dropped after {closed_after:?}, read_timeout 500 ms"
    );
    dripping.abort();
    // A connection that sends nothing at all (or sits idle after a request) goes the same way.
    let mut idle = TcpStream::connect(edge.addr).await.unwrap();
    let t = Instant::now();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut got))
        .await
        .expect("the idle connection was closed");
    assert!(t.elapsed() >= Duration::from_millis(450));
    let e = edge.edge.clone();
    until(Duration::from_secs(2), "no open connection", || {
        e.stats().connections == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped() {
    let limits = Limits {
        write_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    // Far more than the socket buffers on both sides hold.
    let big = vec![7u8; 48 << 20];
    let edge = start("stall", limits, &[("big.bin", big.clone())]).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut s = socket.connect(edge.addr).await.unwrap();
    s.write_all(get("/big.bin").as_bytes()).await.unwrap();
    let e = edge.edge.clone();
    until(Duration::from_secs(5), "the connection to open", || {
        e.stats().connections == 1
    })
    .await;
    // Read nothing for a while: the edge's write stalls and it gives up on the client.
    until(
        Duration::from_secs(10),
        "the stalled connection to close",
        || e.stats().connections == 0,
    )
    .await;
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got).await;
    assert!(
        got.len() < big.len(),
        "the whole body arrived ({} bytes): nothing stalled",
        got.len()
    );
    // The edge still serves others.
    assert_eq!(
        exchange(edge.addr, get("/cups.jpg").as_bytes()).await.0,
        200
    );
}

#[tokio::test]
async fn a_purge_body_that_never_arrives_is_408() {
    let limits = Limits {
        read_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let edge = start("body", limits, &[]).await;
    let mut s = TcpStream::connect(edge.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"orig",
        local_edge::preview::PURGE_PATH
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let t = Instant::now();
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut s))
        .await
        .expect("answered");
    assert_eq!(status, 408, "{}", String::from_utf8_lossy(&body));
    assert!(t.elapsed() >= Duration::from_millis(250));
}
