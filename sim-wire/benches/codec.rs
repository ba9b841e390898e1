//! Codec throughput: `cargo bench -p sim-wire --bench codec` (pin to one core with
//! `taskset -c 0` to read the figures as messages per second per core).
//!
//! - `read/SendOpdateringFravaerRequest`: parse + validate of the most common message, with
//!   a matching SOAPAction (the path every platform and receiver request takes).
//! - `write/SendForretningsSvarRequest`: serialising a typical jobcenter business reply.
//!
//! Both use `Throughput::Elements(1)`, so criterion reports elements/s = messages/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sim_wire::{examples, Message, Operation};
use std::hint::black_box;

fn read(c: &mut Criterion) {
    let xml = sim_wire::write(&examples::opdatering_fravaer_request());
    let action = Operation::SendOpdateringFravaer.soap_action();

    // Outside the timed loop: the input must be what we claim to measure.
    let decoded = sim_wire::read(xml.as_bytes(), Some(&action)).expect("the example reads");
    assert!(decoded.is_valid(), "{:?}", decoded.problems);
    assert!(decoded.problems.is_empty(), "{:?}", decoded.problems);
    assert_eq!(decoded.operation, Some(Operation::SendOpdateringFravaer));
    assert_eq!(
        decoded.message,
        Some(examples::opdatering_fravaer_request())
    );

    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(1));
    group.bench_function("SendOpdateringFravaerRequest", |b| {
        b.iter(|| sim_wire::read(black_box(xml.as_bytes()), black_box(Some(action.as_str()))))
    });
    group.finish();
}

fn write(c: &mut Criterion) {
    let message = Message::Request(examples::request(Operation::SendForretningsSvarJc));

    // Outside the timed loop: what we write reads back valid and equal.
    let xml = sim_wire::write(&message);
    let decoded = sim_wire::read(xml.as_bytes(), None).expect("the written message reads");
    assert!(decoded.is_valid(), "{:?}", decoded.problems);
    assert_eq!(decoded.message.as_ref(), Some(&message));

    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Elements(1));
    group.bench_function("SendForretningsSvarRequest", |b| {
        b.iter(|| sim_wire::write(black_box(&message)))
    });
    group.finish();
}

criterion_group!(benches, read, write);
criterion_main!(benches);
