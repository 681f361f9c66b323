//! Entry point of the page: set the panic hook and mount the app.
fn main() {
    // A panic aborts the page's wasm (release builds use panic = "abort"). The hook logs it and
    // leaves its message where index.html's last-line handler shows it with a way back.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let _ = js_sys::Reflect::set(
            &js_sys::global(),
            &"labPanic".into(),
            &info.to_string().into(),
        );
    }));
    leptos::mount::mount_to_body(mqtt_session_lab::App);
}
