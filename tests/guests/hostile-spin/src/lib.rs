//! Loops forever.

misbehave::misbehave!("hostile-spin", "Loops forever.", |input| {
    let _ = &input;
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
});
