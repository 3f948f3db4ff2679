//! A component that imports `wasi:backdoor/shell@0.2.0`: a name under a package Airlock
//! serves (or a namespace it links), but an interface it does not provide. Loading
//! it must fail with an error that names the import.

wit_bindgen::generate!({ path: "wit", world: "foreign" });

struct Foreign;

impl Guest for Foreign {
    fn hello() -> String {
        wasi::backdoor::shell::run("id")
    }
}

export!(Foreign);
