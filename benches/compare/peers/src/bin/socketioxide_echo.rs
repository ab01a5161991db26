//! socketioxide (Socket.IO on axum) answering `simdws load --socketio`:
//! each `echo` emit is acked with its argument. One current-thread runtime,
//! like `serve --workers 1`.
//!
//!     socketioxide_echo PORT

use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let (layer, io) = SocketIo::new_layer();
        io.ns("/", async |socket: SocketRef| {
            socket.on("echo", async |ack: AckSender, Data(data): Data<serde_json::Value>| {
                let _ = ack.send(&data);
            });
        });
        let app = axum::Router::new().layer(layer);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
}
