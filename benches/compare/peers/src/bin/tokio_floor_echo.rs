//! Not a WebSocket server: the least a tokio echo of small WebSocket frames
//! can do, to measure what tokio itself costs per message (the floor under
//! every tokio-based peer in `benches/compare/instructions.py`).
//! `tokio_floor_echo PORT`, one thread.
//!
//! The handshake is answered as the other hand-written peers answer it
//! (`simdws_compare_peers::upgrade`); after it, each read is taken to hold whole masked frames of at
//! most 125 bytes (what `simdws load --size 20` sends). Each is unmasked
//! and sent back unmasked, all the replies to one read in one write. No
//! other frame is understood; anything else closes the connection.
use simdws_compare_peers::upgrade;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The replies to the small masked frames in `input`; `None` for anything else.
fn echo_frames(input: &mut [u8], out: &mut Vec<u8>) -> Option<()> {
    let mut at = 0;
    while at < input.len() {
        let (b0, b1) = (*input.get(at)?, *input.get(at + 1)?);
        let len = (b1 & 0x7F) as usize;
        if b1 & 0x80 == 0 || len > 125 || !matches!(b0, 0x81 | 0x82) {
            return None;
        }
        let key: [u8; 4] = input.get(at + 2..at + 6)?.try_into().ok()?;
        let payload = input.get_mut(at + 6..at + 6 + len)?;
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= key[i & 3];
        }
        out.extend_from_slice(&[b0, len as u8]);
        out.extend_from_slice(payload);
        at += 6 + len;
    }
    Some(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port = std::env::args().nth(1).unwrap_or_else(|| "9003".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await.unwrap();
    loop {
        let (mut stream, _) = listener.accept().await.unwrap();
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            if upgrade(&mut stream).await.is_none() {
                return;
            }
            let (mut input, mut out) = (vec![0u8; 16 << 10], Vec::with_capacity(16 << 10));
            while let Ok(n) = stream.read(&mut input).await {
                out.clear();
                if n == 0 || echo_frames(&mut input[..n], &mut out).is_none() {
                    return;
                }
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
        });
    }
}
