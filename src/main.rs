//! Entry point of the page: set the panic hook and mount the app.
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(mqtt_session_lab::App);
}
