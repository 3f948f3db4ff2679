//! A component that imports `acme:backdoor/shell`, an interface Airlock does not
//! provide: loading it must fail with an error that names the import.

wit_bindgen::generate!({ path: "wit", world: "foreign" });

struct Foreign;

impl Guest for Foreign {
    fn hello() -> String {
        acme::backdoor::shell::run("id")
    }
}

export!(Foreign);
