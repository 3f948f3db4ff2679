//! The guest's stdout and stderr: kept in memory up to a cap, the rest discarded
//! and counted — never an error, because a Rust guest's `println!` panics when a
//! write fails, and a chatty guest must not become a crashing one.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes of each of stdout and stderr kept per call.
pub const MAX_STDIO_BYTES: usize = 64 * 1024;

#[derive(Debug, Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped: u64,
}

/// One captured stream. Clones share the buffer.
#[derive(Debug, Clone, Default)]
pub struct CapturedOutput {
    buffer: Arc<Mutex<Buffer>>,
}

impl CapturedOutput {
    fn append(&self, bytes: &[u8]) {
        if let Ok(mut b) = self.buffer.lock() {
            let room = MAX_STDIO_BYTES.saturating_sub(b.kept.len());
            let (keep, drop) = bytes.split_at(bytes.len().min(room));
            b.kept.extend_from_slice(keep);
            b.dropped += drop.len() as u64;
        }
    }

    /// What was kept, and how many bytes were discarded.
    pub fn take(&self) -> (Vec<u8>, u64) {
        match self.buffer.lock() {
            Ok(mut b) => (std::mem::take(&mut b.kept), std::mem::take(&mut b.dropped)),
            Err(_) => (Vec::new(), 0),
        }
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        // Always ready: what does not fit is discarded, not refused.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
