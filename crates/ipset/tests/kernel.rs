//! Kernel tests: run as root in a fresh network namespace (or the VM):
//! `unshare -n <kernel test binary> --ignored --test-threads=1`.

use std::process::Command;

use ipset_netlink::{
    BatchLimits, CreateOptions, Entry, Extensions, Family, IpsetError, IpsetHandle, SetType,
    blocking::IpsetClient,
};

const IGNORE: &str = "kernel: needs root in a fresh netns or the VM; run tests/run";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn ipset(args: &[&str]) -> String {
    let out = Command::new("ipset")
        .args(args)
        .output()
        .expect("run ipset");
    assert!(
        out.status.success(),
        "ipset {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Members of a set as `ipset save` prints them, sorted.
fn saved_members(name: &str) -> Vec<String> {
    let prefix = format!("add {name} ");
    let mut members: Vec<String> = ipset(&["save", name])
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .collect();
    members.sort();
    members
}

fn entries(set_type: SetType, texts: &[&str]) -> Vec<Entry> {
    texts
        .iter()
        .map(|t| Entry::parse(set_type, t).expect("entry"))
        .collect()
}

fn sorted(texts: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// One case per set type: name, type, family, members.
fn cases() -> Vec<(&'static str, SetType, Family, Vec<&'static str>)> {
    vec![
        (
            "k-ip",
            SetType::HashIp,
            Family::Inet,
            vec!["10.0.0.1", "10.0.0.2"],
        ),
        (
            "k-ip6",
            SetType::HashIp,
            Family::Inet6,
            vec!["fd00::1", "fd00::2"],
        ),
        (
            "k-ipport",
            SetType::HashIpPort,
            Family::Inet,
            vec!["10.0.0.1,tcp:80", "10.0.0.2,udp:53", "10.0.0.3,sctp:30000"],
        ),
        (
            "k-ipport6",
            SetType::HashIpPort,
            Family::Inet6,
            vec!["fd00::1,udp:53", "fd00::2,tcp:443"],
        ),
        (
            "k-ipportip",
            SetType::HashIpPortIp,
            Family::Inet,
            vec!["10.0.0.1,tcp:80,10.0.0.1", "10.0.0.2,udp:53,10.0.0.9"],
        ),
        (
            "k-ipportnet",
            SetType::HashIpPortNet,
            Family::Inet,
            vec!["10.0.0.1,tcp:80,10.1.0.0/16", "10.0.0.2,tcp:81,10.2.3.4"],
        ),
        (
            "k-net",
            SetType::HashNet,
            Family::Inet,
            vec!["10.0.0.0/8", "192.168.1.0/24", "172.16.0.1"],
        ),
        (
            "k-port",
            SetType::BitmapPort,
            Family::Inet,
            vec!["30080", "30081"],
        ),
    ]
}

#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn crud_every_type_matches_ipset_save() {
    let _ = IGNORE;
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        for (name, set_type, family, members) in cases() {
            let opts = CreateOptions::new(family).hashsize(1024).maxelem(65536);
            h.create(name, set_type, &opts).await.expect("create");
            let es = entries(set_type, &members);
            for e in &es {
                h.add(name, e).await.expect("add");
            }
            assert_eq!(saved_members(name), sorted(&members), "{name}");
            let info = h.list(name).await.expect("list");
            assert_eq!(info.sorted_members(), sorted(&members), "{name}");
            assert_eq!(info.set_type, Some(set_type));
            assert!(h.test(name, &es[0]).await.expect("test"));
            h.del(name, &es[0]).await.expect("del");
            assert!(!h.test(name, &es[0]).await.expect("test absent"));
            assert_eq!(saved_members(name), sorted(&members[1..]), "{name}");
            h.flush(name).await.expect("flush");
            assert!(saved_members(name).is_empty());
            h.destroy(name).await.expect("destroy");
            assert!(!h.exists(name).await.expect("exists"));
        }
    });
}

#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn sets_made_by_the_tool_read_back() {
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        for (name, set_type, family, members) in cases() {
            let name = format!("{name}-t");
            let mut create = vec!["create", &name, set_type.name()];
            if set_type.is_bitmap() {
                create.extend(["range", "0-65535"]);
            } else {
                create.extend([
                    "family",
                    if family == Family::Inet {
                        "inet"
                    } else {
                        "inet6"
                    },
                ]);
            }
            ipset(&create);
            for m in &members {
                ipset(&["add", &name, m]);
            }
            let info = h.list(&name).await.expect("list");
            assert_eq!(info.sorted_members(), saved_members(&name), "{name}");
            assert_eq!(info.type_name, set_type.name());
            ipset(&["destroy", &name]);
        }
    });
}

#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn create_options_exist_rename_swap() {
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        let opts = CreateOptions::new(Family::Inet).hashsize(4096).maxelem(100000).timeout(600).counters().comment();
        h.create("k-opts", SetType::HashIp, &opts).await.expect("create");
        let save = ipset(&["save", "k-opts"]);
        assert!(save.contains("hashsize 4096 maxelem 100000 timeout 600 counters comment"), "{save}");
        let info = h.header("k-opts").await.expect("header");
        assert_eq!(info.header.timeout, Some(600));
        assert!(info.header.counters && info.header.comment);
        h.ensure("k-opts", SetType::HashIp, &opts).await.expect("create -exist");
        assert!(matches!(h.create("k-opts", SetType::HashIp, &opts).await, Err(IpsetError::SetExists { set }) if set == "k-opts"));
        let bitmap = CreateOptions::default().range(1024, 2047);
        h.create("k-bm", SetType::BitmapPort, &bitmap).await.expect("create bitmap");
        assert_eq!(h.header("k-bm").await.expect("header").header.range, Some((1024, 2047)));
        h.rename("k-bm", "k-bm2").await.expect("rename");
        assert!(h.exists("k-bm2").await.expect("exists"));
        h.create("k-opts2", SetType::HashIp, &CreateOptions::default()).await.expect("create");
        h.add("k-opts2", &"10.9.9.9".parse().expect("entry")).await.expect("add");
        h.swap("k-opts", "k-opts2").await.expect("swap");
        assert_eq!(saved_members("k-opts"), vec!["10.9.9.9".to_string()]);
        let err = h.swap("k-opts", "k-bm2").await.expect_err("swap mismatch");
        assert!(matches!(err, IpsetError::TypeMismatch { .. }), "{err}");
        for n in ["k-opts", "k-opts2", "k-bm2"] {
            h.destroy(n).await.expect("destroy");
        }
    });
}

fn many(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| Entry::IpPort {
            ip: std::net::Ipv4Addr::from(0x0a00_0000 + i as u32).into(),
            proto: ipset_netlink::Protocol::Tcp,
            port: 1000 + (i % 50_000) as u16,
        })
        .collect()
}

#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn batches_of_thousands() {
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        let es = many(20_000);
        h.create(
            "k-batch",
            SetType::HashIpPort,
            &CreateOptions::default().maxelem(1 << 20),
        )
        .await
        .expect("create");
        h.add_all("k-batch", &es, false).await.expect("add_all");
        let info = h.list("k-batch").await.expect("list");
        assert_eq!(info.members.len(), es.len());
        assert_eq!(saved_members("k-batch").len(), es.len());
        // Again without -exist: the first element already present fails and is named.
        let err = h
            .add_all("k-batch", &es[100..], false)
            .await
            .expect_err("duplicates");
        assert!(
            matches!(&err, IpsetError::ElementExists { entry, .. } if *entry == es[100].to_string()),
            "{err}"
        );
        h.add_all("k-batch", &es, true)
            .await
            .expect("add_all -exist");
        h.del_all("k-batch", &es[..10_000], false)
            .await
            .expect("del_all");
        assert_eq!(h.list("k-batch").await.expect("list").members.len(), 10_000);
        h.destroy("k-batch").await.expect("destroy");
    });
}

#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn sync_and_atomic_replace() {
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        let opts = CreateOptions::default();
        h.create("k-sync", SetType::HashIpPort, &opts)
            .await
            .expect("create");
        let first = many(3000);
        let stats = h.sync("k-sync", &first).await.expect("sync");
        assert_eq!((stats.added, stats.deleted), (3000, 0));
        let second = many(3500)[1000..].to_vec();
        let stats = h.sync("k-sync", &second).await.expect("sync");
        assert_eq!((stats.added, stats.deleted), (500, 1000));
        let mut want: Vec<String> = second.iter().map(Entry::to_string).collect();
        want.sort();
        assert_eq!(saved_members("k-sync"), want);
        let stats = h.sync("k-sync", &second).await.expect("sync no-op");
        assert_eq!((stats.added, stats.deleted), (0, 0));

        let third = many(10);
        h.replace("k-sync", SetType::HashIpPort, &opts, &third)
            .await
            .expect("replace");
        let mut want: Vec<String> = third.iter().map(Entry::to_string).collect();
        want.sort();
        assert_eq!(saved_members("k-sync"), want);
        assert!(!h.exists("k-sync-tmp").await.expect("exists"));
        h.replace("k-new", SetType::HashIpPort, &opts, &third)
            .await
            .expect("replace new");
        assert_eq!(saved_members("k-new"), want);
        h.destroy("k-sync").await.expect("destroy");
        h.destroy("k-new").await.expect("destroy");
    });
}

#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn error_paths() {
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        assert_eq!(h.protocol(), 7);
        let opts = CreateOptions::default();
        h.create("k-err", SetType::HashIp, &opts)
            .await
            .expect("create");
        let e: Entry = "10.0.0.1".parse().expect("entry");
        h.add("k-err", &e).await.expect("add");
        let err = h.add("k-err", &e).await.expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "element 10.0.0.1 is already in set \"k-err\""
        );
        h.add_exist("k-err", &e).await.expect("add -exist");
        h.del("k-err", &e).await.expect("del");
        assert!(matches!(
            h.del("k-err", &e).await,
            Err(IpsetError::ElementMissing { .. })
        ));
        h.del_exist("k-err", &e).await.expect("del -exist");
        let v6: Entry = "fd00::1".parse().expect("entry");
        let err = h.add("k-err", &v6).await.expect_err("wrong family");
        assert!(
            matches!(
                err,
                IpsetError::FamilyMismatch { .. } | IpsetError::Protocol { .. }
            ),
            "{err}"
        );
        let err = h.destroy("k-nosuch").await.expect_err("unknown set");
        assert_eq!(err.to_string(), "set \"k-nosuch\" does not exist");
        assert!(matches!(
            h.add("k-nosuch", &e).await,
            Err(IpsetError::SetNotFound { .. })
        ));
        assert!(matches!(
            h.list("k-nosuch").await,
            Err(IpsetError::SetNotFound { .. })
        ));
        h.destroy("k-err").await.expect("destroy");
    });
}

#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn destroy_referenced_by_iptables_rule() {
    let iptables = Command::new("iptables").arg("--version").output();
    assert!(
        iptables.is_ok_and(|o| o.status.success()),
        "iptables not found: this test needs it (apt-get install -y iptables)"
    );
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        h.create("k-ref", SetType::HashIp, &CreateOptions::default())
            .await
            .expect("create");
        let rule = ["-m", "set", "--match-set", "k-ref", "src", "-j", "ACCEPT"];
        let ok = Command::new("iptables")
            .arg("-A")
            .arg("INPUT")
            .args(rule)
            .status()
            .expect("iptables");
        assert!(ok.success(), "iptables -A failed");
        let err = h.destroy("k-ref").await.expect_err("referenced");
        assert!(
            matches!(&err, IpsetError::SetInUse { set } if set == "k-ref"),
            "{err}"
        );
        assert_eq!(
            h.header("k-ref").await.expect("header").header.references,
            Some(1)
        );
        let ok = Command::new("iptables")
            .arg("-D")
            .arg("INPUT")
            .args(rule)
            .status()
            .expect("iptables");
        assert!(ok.success());
        h.destroy("k-ref").await.expect("destroy");
    });
}

#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn list_all_and_names() {
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        h.create("k-la", SetType::HashNet, &CreateOptions::default())
            .await
            .expect("create");
        h.create("k-lb", SetType::BitmapPort, &CreateOptions::default())
            .await
            .expect("create");
        h.add("k-lb", &Entry::Port(80)).await.expect("add");
        let names = h.list_names().await.expect("names");
        assert!(names.contains(&"k-la".to_string()) && names.contains(&"k-lb".to_string()));
        let all = h.list_all().await.expect("all");
        let lb = all.iter().find(|s| s.name == "k-lb").expect("k-lb");
        assert_eq!(lb.sorted_members(), vec!["80".to_string()]);
        h.destroy("k-la").await.expect("destroy");
        h.destroy("k-lb").await.expect("destroy");
    });
}

#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn dumps_and_byte_bounded_batches_on_the_shared_transport() {
    rt().block_on(async {
        // Messages of at most 600 bytes: a few elements each, and the
        // failing element is still named by its position.
        let mut h = IpsetHandle::connect().await.expect("connect");
        h.set_element_limits(ipset_netlink::ElementLimits::new(128, 600));
        let es = many(5000);
        h.create("k-dump", SetType::HashIpPort, &CreateOptions::default())
            .await
            .expect("create");
        h.add_all("k-dump", &es, false).await.expect("add_all");
        let err = h
            .add_all("k-dump", &es[4321..], false)
            .await
            .expect_err("duplicates");
        assert!(
            matches!(&err, IpsetError::ElementExists { entry, .. } if *entry == es[4321].to_string()),
            "{err}"
        );
        let mut fresh = many(5100)[5000..].to_vec();
        fresh.push(es[0]);
        let err = h
            .add_all("k-dump", &fresh, false)
            .await
            .expect_err("last one");
        assert!(
            matches!(&err, IpsetError::ElementExists { entry, .. } if *entry == es[0].to_string()),
            "{err}"
        );
        // Two clones dump the same multi-datagram set at once: the calls
        // share the socket one at a time and both read to NLMSG_DONE.
        let other = h.clone();
        let (a, b) = tokio::join!(h.list("k-dump"), other.list_all());
        let a = a.expect("list");
        let b = b.expect("list_all");
        let mut members: Vec<String> = a.members.iter().map(Entry::to_string).collect();
        members.sort();
        assert_eq!(members.len(), 5100);
        assert_eq!(members, saved_members("k-dump"));
        let listed = b.iter().find(|s| s.name == "k-dump").expect("in list_all");
        assert_eq!(listed.members.len(), 5100);
        h.destroy("k-dump").await.expect("destroy");
    });
}

/// The sub-handles and request builders, checked with `ipset save`.
#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn sub_handles_and_requests() {
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        let sets = h.sets();
        let create = || {
            sets.create("k-sub", SetType::HashIpPort)
                .family(Family::Inet6)
                .hashsize(2048)
                .maxelem(5000)
        };
        create().execute().await.expect("create");
        let save = ipset(&["save", "k-sub"]);
        assert!(
            save.starts_with("create k-sub hash:ip,port family inet6 hashsize 2048 maxelem 5000"),
            "{save}"
        );
        let again = create().execute().await;
        assert!(
            matches!(&again, Err(IpsetError::SetExists { set }) if set == "k-sub"),
            "{again:?}"
        );
        create().exist(true).execute().await.expect("create -exist");

        let members = h.entries("k-sub");
        let one = Entry::parse(SetType::HashIpPort, "fd00::1,tcp:80").expect("entry");
        members.add(one).execute().await.expect("add");
        let dup = members.add(one).execute().await;
        assert!(
            matches!(dup, Err(IpsetError::ElementExists { .. })),
            "{dup:?}"
        );
        members
            .add(one)
            .exist(true)
            .execute()
            .await
            .expect("add -exist");
        assert!(members.test(one).execute().await.expect("test"));
        let more = entries(
            SetType::HashIpPort,
            &["fd00::2,udp:53", "fd00::3,tcp:443", "fd00::4,sctp:9"],
        );
        members
            .add_all(more.clone())
            .execute()
            .await
            .expect("add many");
        assert_eq!(
            saved_members("k-sub"),
            sorted(&[
                "fd00::1,tcp:80",
                "fd00::2,udp:53",
                "fd00::3,tcp:443",
                "fd00::4,sctp:9"
            ])
        );
        members
            .del_all(more[..2].to_vec())
            .execute()
            .await
            .expect("del many");
        let gone = members.del(more[0]).execute().await;
        assert!(
            matches!(gone, Err(IpsetError::ElementMissing { .. })),
            "{gone:?}"
        );
        members
            .del(more[0])
            .exist(true)
            .execute()
            .await
            .expect("del -exist");
        assert!(!members.test(more[0]).execute().await.expect("test"));
        let mut listed: Vec<String> = members
            .list()
            .execute()
            .await
            .expect("list")
            .iter()
            .map(Entry::to_string)
            .collect();
        listed.sort();
        assert_eq!(listed, saved_members("k-sub"));

        let wanted = entries(SetType::HashIpPort, &["fd00::4,sctp:9", "fd00::5,tcp:8080"]);
        let stats = members.sync(wanted).execute().await.expect("sync");
        assert_eq!((stats.added, stats.deleted), (1, 1));
        assert_eq!(
            saved_members("k-sub"),
            sorted(&["fd00::4,sctp:9", "fd00::5,tcp:8080"])
        );

        let header = sets.get("k-sub").terse().execute().await.expect("header");
        assert!(
            header.members.is_empty() && header.header.hashsize == Some(2048),
            "{header:?}"
        );
        assert_eq!(
            sets.get("k-sub")
                .execute()
                .await
                .expect("list")
                .members
                .len(),
            2
        );
        sets.create("k-sub2", SetType::HashIpPort)
            .family(Family::Inet6)
            .execute()
            .await
            .expect("create");
        sets.swap("k-sub", "k-sub2").execute().await.expect("swap");
        assert!(saved_members("k-sub").is_empty());
        sets.flush("k-sub2").execute().await.expect("flush");
        assert!(saved_members("k-sub2").is_empty());
        sets.rename("k-sub2", "k-sub3")
            .execute()
            .await
            .expect("rename");
        let names = sets.names().execute().await.expect("names");
        assert!(
            names.contains(&"k-sub3".to_string()) && !names.contains(&"k-sub2".to_string()),
            "{names:?}"
        );
        assert!(
            sets.list()
                .execute()
                .await
                .expect("all")
                .iter()
                .any(|s| s.name == "k-sub")
        );
        for n in ["k-sub", "k-sub3"] {
            sets.destroy(n).execute().await.expect("destroy");
        }
        let missing = sets.destroy("k-sub").execute().await;
        assert!(
            matches!(missing, Err(IpsetError::SetNotFound { .. })),
            "{missing:?}"
        );
    });
}

/// Entry extensions: a set with `timeout`, `counters` and `comment`;
/// entries added here with extensions show in `ipset save`, and entries
/// added by the tool with extensions show in our dump.
#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn entry_extensions_timeout_counters_comment() {
    rt().block_on(async {
        let h = IpsetHandle::connect().await.expect("connect");
        let options = CreateOptions::new(Family::Inet)
            .timeout(600)
            .counters()
            .comment();
        h.sets()
            .create("k-ext", SetType::HashIpPort)
            .options(options)
            .execute()
            .await
            .expect("create");
        let save = ipset(&["save", "k-ext"]);
        assert!(
            save.starts_with(
                "create k-ext hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 600 counters comment"
            ),
            "{save}"
        );
        let members = h.entries("k-ext");
        let web = Entry::parse(SetType::HashIpPort, "10.0.0.1,tcp:80").unwrap();
        let dns = Entry::parse(SetType::HashIpPort, "10.0.0.2,udp:53").unwrap();
        members
            .add_all([web, dns])
            .extensions(Extensions::new().timeout(0).counters(3, 180).comment("web"))
            .execute()
            .await
            .expect("add with extensions");
        let saved = saved_members("k-ext");
        assert_eq!(
            saved,
            [
                "10.0.0.1,tcp:80 timeout 0 packets 3 bytes 180 comment \"web\"",
                "10.0.0.2,udp:53 timeout 0 packets 3 bytes 180 comment \"web\"",
            ],
            "{saved:?}"
        );
        // -exist gives a present entry new extensions; the set's default
        // timeout applies when none is given.
        members
            .add(dns)
            .exist(true)
            .extensions(Extensions::new().timeout(300).comment("dns"))
            .execute()
            .await
            .expect("add -exist with extensions");
        ipset(&["add", "k-ext", "10.0.0.3,tcp:443", "packets", "7", "bytes", "700", "comment", "tool"]);

        let info = h.list("k-ext").await.expect("list");
        assert!(info.has_extensions());
        let mut got: Vec<(String, Extensions)> = info
            .members_with_extensions()
            .map(|(e, ext)| (e.to_string(), ext))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got[0], ("10.0.0.1,tcp:80".into(), Extensions::new().timeout(0).counters(3, 180).comment("web")));
        assert_eq!(got[1].0, "10.0.0.2,udp:53");
        let dns_ext = &got[1].1;
        assert!(
            dns_ext.timeout.is_some_and(|t| (290..=300).contains(&t)),
            "{dns_ext:?}"
        );
        assert_eq!(dns_ext.comment.as_deref(), Some("dns"));
        assert_eq!(got[2].0, "10.0.0.3,tcp:443");
        let tool = &got[2].1;
        assert!(tool.timeout.is_some_and(|t| (590..=600).contains(&t)), "{tool:?}");
        assert_eq!((tool.packets, tool.bytes), (Some(7), Some(700)));
        assert_eq!(tool.comment.as_deref(), Some("tool"));
        // What `ipset save` prints after each member, but for the timeout
        // left, which ticks.
        let mut untimed = tool.clone();
        untimed.timeout = None;
        let line = format!("10.0.0.3,tcp:443{untimed}");
        let saved = ipset(&["save", "k-ext"]);
        assert!(
            saved.lines().any(|l| {
                l.strip_prefix("add k-ext ")
                    .is_some_and(|rest| {
                        let mut words: Vec<&str> = rest.split(' ').collect();
                        if let Some(at) = words.iter().position(|w| *w == "timeout") {
                            words.drain(at..at + 2);
                        }
                        words.join(" ") == line
                    })
            }),
            "{line}\n{saved}"
        );
        h.destroy("k-ext").await.expect("destroy");
    });
}

/// The blocking client, no runtime: every operation checked against the
/// real `ipset` (`ipset list`, `ipset save`).
#[test]
#[ignore = "kernel: needs root in a fresh netns or the VM; run tests/run"]
fn blocking_client_matches_ipset_save() {
    let mut c = IpsetClient::connect().expect("connect");
    assert!(c.protocol() >= 6);
    c.set_batch_limits(BatchLimits::new(4, 1 << 16));
    let opts = CreateOptions::new(Family::Inet)
        .hashsize(1024)
        .maxelem(65536);
    c.create("kb-a", SetType::HashIpPort, &opts)
        .expect("create");
    assert!(matches!(
        c.create("kb-a", SetType::HashIpPort, &opts),
        Err(IpsetError::SetExists { .. })
    ));
    c.ensure("kb-a", SetType::HashIpPort, &opts)
        .expect("ensure");
    assert!(ipset(&["list", "-n"]).lines().any(|l| l == "kb-a"));
    assert!(ipset(&["list", "kb-a"]).contains("Type: hash:ip,port"));

    let one = Entry::parse(SetType::HashIpPort, "10.0.0.1,tcp:80").unwrap();
    c.add("kb-a", &one).expect("add");
    assert!(matches!(
        c.add("kb-a", &one),
        Err(IpsetError::ElementExists { .. })
    ));
    c.add_exist("kb-a", &one).expect("add -exist");
    assert!(c.test("kb-a", &one).expect("test"));
    assert_eq!(saved_members("kb-a"), ["10.0.0.1,tcp:80"]);

    // Thousands, pipelined, and the kernel's copy agrees.
    let many: Vec<Entry> = (0..3000u32)
        .map(|i| {
            let text = format!("10.1.{}.{},udp:{}", i / 250, i % 250, 1000 + i % 7);
            Entry::parse(SetType::HashIpPort, &text).unwrap()
        })
        .collect();
    c.add_all("kb-a", &many, false).expect("add_all");
    let mut want: Vec<String> = many.iter().map(Entry::to_string).collect();
    want.push(one.to_string());
    want.sort();
    assert_eq!(saved_members("kb-a"), want);
    let info = c.list("kb-a").expect("list");
    assert_eq!(info.sorted_members(), want);
    assert_eq!(info.set_type, Some(SetType::HashIpPort));
    let err = c.add_all("kb-a", &many[..10], false).unwrap_err();
    assert!(matches!(err, IpsetError::ElementExists { .. }), "{err}");
    c.del_all("kb-a", &many[..2000], false).expect("del_all");
    assert_eq!(saved_members("kb-a").len(), 1001);
    c.del("kb-a", &one).expect("del");
    assert!(!c.test("kb-a", &one).expect("test absent"));
    c.del_exist("kb-a", &one).expect("del -exist");

    // Sync: the fewest changes, then the tool agrees.
    let desired: Vec<Entry> = many[1990..2010].to_vec();
    let stats = c.sync("kb-a", &desired).expect("sync");
    assert_eq!((stats.added, stats.deleted), (10, 990));
    let mut want: Vec<String> = desired.iter().map(Entry::to_string).collect();
    want.sort();
    assert_eq!(saved_members("kb-a"), want);
    let again = c.sync("kb-a", &desired).expect("sync again");
    assert_eq!((again.added, again.deleted), (0, 0));

    // Swap, rename, replace, flush, destroy.
    c.create("kb-b", SetType::HashIpPort, &opts)
        .expect("create b");
    c.add("kb-b", &one).expect("add b");
    c.swap("kb-a", "kb-b").expect("swap");
    assert_eq!(saved_members("kb-a"), ["10.0.0.1,tcp:80"]);
    assert_eq!(saved_members("kb-b"), want);
    c.rename("kb-b", "kb-c").expect("rename");
    assert!(!c.exists("kb-b").expect("exists"));
    assert!(c.header("kb-c").expect("header").members.is_empty());
    let names = c.list_names().expect("names");
    assert!(names.contains(&"kb-a".to_owned()) && names.contains(&"kb-c".to_owned()));
    assert!(
        c.list_all()
            .expect("list all")
            .iter()
            .any(|s| s.name == "kb-c")
    );
    c.replace("kb-c", SetType::HashIpPort, &opts, &many[..5])
        .expect("replace");
    let mut want: Vec<String> = many[..5].iter().map(Entry::to_string).collect();
    want.sort();
    assert_eq!(saved_members("kb-c"), want);
    c.replace("kb-new", SetType::HashIpPort, &opts, &many[..3])
        .expect("replace absent");
    assert_eq!(saved_members("kb-new").len(), 3);
    c.flush("kb-c").expect("flush");
    assert!(saved_members("kb-c").is_empty());
    for name in ["kb-a", "kb-c", "kb-new"] {
        c.destroy(name).expect("destroy");
    }
    assert!(matches!(
        c.destroy("kb-a"),
        Err(IpsetError::SetNotFound { .. })
    ));
    assert!(!ipset(&["list", "-n"]).lines().any(|l| l.starts_with("kb-")));

    // Extensions, with the tool reading them back.
    let opts = CreateOptions::new(Family::Inet).timeout(600);
    c.create("kb-t", SetType::HashIp, &opts)
        .expect("create timeout");
    let ip = Entry::parse(SetType::HashIp, "10.9.9.9").unwrap();
    c.add_all_with("kb-t", &[ip], &Extensions::default().timeout(77), false)
        .expect("add with timeout");
    assert!(ipset(&["save", "kb-t"]).contains("add kb-t 10.9.9.9 timeout 7"));
    c.destroy("kb-t").expect("destroy t");
}
