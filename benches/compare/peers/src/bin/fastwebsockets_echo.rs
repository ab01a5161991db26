//! fastwebsockets echo server, one thread: `fastwebsockets_echo PORT`.
//! The HTTP upgrade is done by hand (fastwebsockets leaves it to hyper);
//! frames go through its `FragmentCollector`, as its own echo example does.
use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
use simdws_compare_peers::upgrade;
use tokio::net::TcpListener;

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
            let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
            while let Ok(frame) = ws.read_frame().await {
                match frame.opcode {
                    OpCode::Close => break,
                    OpCode::Text | OpCode::Binary => {
                        if ws.write_frame(frame).await.is_err() {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        });
    }
}
