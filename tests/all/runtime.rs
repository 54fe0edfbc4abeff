use wactor::{ActorOptions, Runtime};

fn cache_entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

#[test]
fn compiled_components_are_cached_on_disk_and_reused() {
    let dir = std::env::temp_dir().join(format!("wactor-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rt = Runtime::builder().cache_dir(Some(&dir)).build().unwrap();

    rt.load(wactor_examples::COUNTER).unwrap();
    let entries = cache_entries(&dir);
    assert_eq!(entries.len(), 1, "{entries:?}");

    // A second runtime loads the cached artifact, and it runs.
    let rt2 = Runtime::builder().cache_dir(Some(&dir)).build().unwrap();
    let counter = rt2.load(wactor_examples::COUNTER).unwrap();
    assert_eq!(cache_entries(&dir), entries);
    let actor = counter.spawn(ActorOptions::new()).unwrap();
    assert_eq!(
        actor
            .call_typed::<i64>("add", (4i64,))
            .unwrap()
            .get(None)
            .unwrap(),
        4
    );

    // A corrupt entry is ignored and replaced, not trusted.
    std::fs::write(&entries[0], b"garbage").unwrap();
    let counter = rt2.load(wactor_examples::COUNTER).unwrap();
    let actor = counter.spawn(ActorOptions::new()).unwrap();
    assert_eq!(
        actor
            .call_typed::<i64>("add", (1i64,))
            .unwrap()
            .get(None)
            .unwrap(),
        1
    );
    assert_ne!(std::fs::read(&entries[0]).unwrap(), b"garbage");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn many_actors_spawn_from_one_loaded_component_with_their_own_state() {
    let rt = wactor_tests::runtime();
    let counter = wactor_tests::load(&rt, "counter");
    let actors: Vec<_> = (0..20)
        .map(|i| {
            counter
                .spawn(ActorOptions::new().name(format!("c{i}")))
                .unwrap()
        })
        .collect();
    for (i, actor) in actors.iter().enumerate() {
        actor.call("add", (i as i64,)).unwrap();
    }
    for (i, actor) in actors.iter().enumerate() {
        assert_eq!(actor.name(), format!("c{i}"));
        let v: i64 = actor.call_typed("value", ()).unwrap().get(None).unwrap();
        assert_eq!(v, i as i64);
    }
}

#[test]
fn max_concurrency_zero_is_refused() {
    let rt = wactor_tests::runtime();
    let err = wactor_tests::load(&rt, "counter")
        .spawn(ActorOptions::new().max_concurrency(0))
        .unwrap_err();
    assert!(err.to_string().contains("max_concurrency"), "{err}");
}

#[test]
fn instances_copy_their_initial_memory_when_copy_on_write_is_off() {
    let rt = Runtime::builder().copy_on_write(false).build().unwrap();
    let counter = rt.load(wactor_examples::COUNTER).unwrap();
    let (a, b) = (
        counter.spawn(ActorOptions::new()).unwrap(),
        counter.spawn(ActorOptions::new()).unwrap(),
    );
    a.call("add", (5i64,)).unwrap();
    let a_total: i64 = a.call_typed("add", (1i64,)).unwrap().get(None).unwrap();
    let b_total: i64 = b.call_typed("add", (1i64,)).unwrap().get(None).unwrap();
    assert_eq!((a_total, b_total), (6, 1));
}

#[test]
fn copy_on_write_on_maps_even_a_small_image_and_off_copies_it() {
    for on in [true, false] {
        let rt = Runtime::builder().copy_on_write(on).build().unwrap();
        let counter = rt.load(wactor_examples::COUNTER).unwrap();
        assert_eq!(counter.copy_on_write(), on);
        let actor = counter.spawn(ActorOptions::new()).unwrap();
        let total: i64 = actor.call_typed("add", (3i64,)).unwrap().get(None).unwrap();
        assert_eq!(total, 3);
    }
}

/// Every live store keeps the fiber stack of its last async call: the pool
/// has a stack per instance, so the 1,001st actor does not trap for want of
/// one.
#[test]
fn a_burst_of_spawns_beyond_a_thousand_actors_all_answer() {
    let n = 3000;
    let rt = Runtime::builder().max_instances(n + 10).build().unwrap();
    let counter = rt.load(wactor_examples::COUNTER).unwrap();
    let actors: Vec<_> = (0..n)
        .map(|_| counter.spawn(ActorOptions::new()).unwrap())
        .collect();
    let refs: Vec<_> = actors
        .iter()
        .map(|a| a.call("add", (1i64,)).unwrap())
        .collect();
    let totals = wactor::get_all(&refs, None).unwrap();
    assert!(totals.iter().all(|v| *v == wactor::Val::S64(1)));
}
