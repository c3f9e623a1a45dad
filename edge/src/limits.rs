//! Every bound `scalefront serve` holds, in one place: what a client can make it hold open, read,
//! buffer or compute at once. The image core's own limits (bytes, pixels, scans…) are
//! `image_core::Limits`, applied by the origin-side flow; these are the local edge's.
//!
//! Where CloudFront documents a number it is used as is; the page is
//! <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html>
//! ("Quotas", General quotas: "Maximum length of a request, including headers and query strings,
//! but not including the body content: 20,480 bytes"; "Maximum length of a URL: 8,192 bytes"),
//! and the origin response timeout is `S3OriginConfig.OriginReadTimeout`
//! (<https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_S3OriginConfig.html>:
//! "the default (if you don't specify otherwise) is 30 seconds"). The others are this machine's
//! (CloudFront documents no per-viewer connection count or viewer timeouts), chosen so a
//! laptop stays responsive under a hostile client.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The local edge's bounds. `Limits::default()` is what `scalefront serve` runs with; tests
/// shrink them.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections open at once. At the cap the edge stops accepting: further connections wait
    /// in the kernel's listen backlog until one closes (idle ones close after `read_timeout`).
    pub max_connections: usize,
    /// Request line and headers, bytes: CloudFront's 20,480 (quotas page). Over it: 431, and the
    /// connection is closed. At least 8,192 (hyper's smallest read buffer). At most 100 header
    /// fields (hyper's default), also 431.
    pub max_header_bytes: usize,
    /// Path and query, bytes: CloudFront's 8,192 for a URL (quotas page). Over it: 414.
    pub max_uri_bytes: usize,
    /// A request's head must arrive whole within this, counted from when the edge starts
    /// waiting for it (so an idle keep-alive connection is closed after it too); a request body
    /// (the purge endpoint's) likewise. A client that sends its headers a byte at a time
    /// (slowloris) is dropped.
    pub read_timeout: Duration,
    /// A response write that makes no progress for this long (the client stopped reading)
    /// drops the connection.
    pub write_timeout: Duration,
    /// Origin reads (file reads, S3 `GetObject`/`HeadObject`) at once; the rest wait their turn.
    /// Bounds open files, S3 connections and bytes in flight (each read holds at most
    /// [`Limits::max_object_bytes`]).
    pub max_origin_reads: usize,
    /// One origin read, waiting for its turn included: CloudFront's default origin response
    /// timeout, 30 s. Over it the read fails (502 for an original, the error table's row for a
    /// variant).
    pub origin_timeout: Duration,
    /// Largest object the edge passes through whole (it holds bodies in memory): 502 above it.
    pub max_object_bytes: u64,
    /// Generations at once (read original → resize → encode): one per core, so memory and CPU
    /// stay bounded under any load; the rest wait. A slot is held until the resize itself ends,
    /// even when the client hangs up before.
    pub resize_slots: usize,
    /// The purge endpoint's JSON body, bytes.
    pub max_purge_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            max_header_bytes: 20_480,
            max_uri_bytes: 8_192,
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_origin_reads: 16,
            origin_timeout: Duration::from_secs(30),
            max_object_bytes: 256 << 20,
            resize_slots: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_purge_body_bytes: 1 << 20,
        }
    }
}

/// How many of something are in progress now, and the most there ever were at once.
#[derive(Debug, Default)]
pub struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    /// Counts one in until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>) -> Entered {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        Entered(self.clone())
    }

    pub fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// One in a [`Gauge`], until dropped.
#[derive(Debug)]
pub struct Entered(Arc<Gauge>);

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection whose writes fail with `TimedOut` once one has made no progress for `limit`
/// (hyper has a header read timeout but no write timeout). Reads pass through: hyper keeps
/// reading while a request is served, to notice a client that hangs up, so a read deadline here
/// would cut long generations; heads and bodies have their own ([`Limits::read_timeout`]).
pub struct WriteTimeout<S> {
    inner: S,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteTimeout<S> {
    pub fn new(inner: S, limit: Duration) -> WriteTimeout<S> {
        WriteTimeout {
            inner,
            limit,
            stalled: None,
        }
    }

    /// `Ready(Err)` when a write pending since the first `Pending` has waited `limit`.
    fn check<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {limit:?} (serve's write_timeout)"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.check(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_counts_now_and_peak() {
        let g = Arc::new(Gauge::default());
        let a = g.enter();
        let b = g.enter();
        assert_eq!((g.now(), g.peak()), (2, 2));
        drop(a);
        drop(b);
        let _c = g.enter();
        assert_eq!((g.now(), g.peak()), (1, 2));
    }

    #[test]
    fn defaults_follow_cloudfront_where_it_documents_a_number() {
        let l = Limits::default();
        assert_eq!(l.max_header_bytes, 20_480);
        assert_eq!(l.max_uri_bytes, 8_192);
        assert_eq!(l.origin_timeout, Duration::from_secs(30));
        assert!(l.max_header_bytes >= 8_192, "hyper's smallest read buffer");
        assert!(l.resize_slots >= 1 && l.max_origin_reads >= 1 && l.max_connections >= 1);
    }
}
