use leptos::prelude::*;

fn main() {
    leptos::mount::mount_to_body(|| {
        let (n, set_n) = signal(0);
        view! { <button data-testid="count" on:click=move |_| set_n.update(|n| *n += 1)>{move || n.get()}</button> }
    });
}
