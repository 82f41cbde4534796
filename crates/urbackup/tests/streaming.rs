//! `for_each_client_status`: the status list decoded client by client as the reply arrives.

mod common;
use common::*;
use std::time::Duration;
use urbackup::{UrbackupError, UrbackupServer};

async fn count(s: &UrbackupServer) -> Result<usize, UrbackupError> {
    let mut n = 0;
    s.for_each_client_status(|_| n += 1).await.map(|_| n)
}

#[tokio::test]
async fn same_clients_as_the_whole_list() {
    for n in [0usize, 3, 700] {
        let sim = Simulator::builder()
            .clients(n)
            .admin("admin", "secret")
            .manual_clock()
            .start()
            .await
            .unwrap();
        let s = UrbackupServer::new(&sim.url(), "admin", "secret").unwrap();
        let whole = s.status_report().await.unwrap();
        let mut streamed = Vec::new();
        let rest = s
            .for_each_client_status(|c| streamed.push(c))
            .await
            .unwrap();
        assert_eq!(streamed.len(), n);
        assert_eq!(
            streamed, whole.status,
            "same fields and raw text for {n} clients"
        );
        assert!(rest.status.is_empty());
        assert_eq!(rest.server_identity, whole.server_identity);
        assert_eq!((rest.no_images, rest.admin), (whole.no_images, whole.admin));
    }
}

#[tokio::test]
async fn session_loss_and_faults() {
    let sim = Simulator::builder()
        .clients(300)
        .admin("admin", "secret")
        .manual_clock()
        .start()
        .await
        .unwrap();
    let s = UrbackupServer::builder(&sim.url())
        .credentials("admin", "secret")
        .timeout(Duration::from_millis(800))
        .retry_base_delay(Duration::from_millis(5))
        .build()
        .unwrap();
    assert_eq!(count(&s).await.unwrap(), 300);
    assert_eq!(sim.logins(), 1);

    sim.invalidate_sessions();
    assert_eq!(count(&s).await.unwrap(), 300);
    assert_eq!(sim.logins(), 2, "one new login");

    sim.inject(
        FaultRule::new(Fault::TruncatedJson)
            .action("status")
            .times(1),
    );
    let r = count(&s).await;
    assert!(
        matches!(r, Err(UrbackupError::UnexpectedResponse { .. })),
        "{r:?}"
    );

    sim.inject(FaultRule::new(Fault::InvalidJson).action("status").times(1));
    assert!(count(&s).await.is_err());

    sim.inject(FaultRule::new(Fault::BadGateway).action("status").times(1));
    assert_eq!(count(&s).await.unwrap(), 300, "a read is retried");

    sim.inject(
        FaultRule::new(Fault::StallMidBody)
            .action("status")
            .times(1),
    );
    let r = count(&s).await;
    assert!(matches!(r, Err(UrbackupError::Timeout { .. })), "{r:?}");

    sim.inject(FaultRule::new(Fault::WrongTypes).action("status").times(1));
    let r = count(&s).await;
    assert!(
        matches!(r, Ok(_) | Err(UrbackupError::UnexpectedResponse { .. })),
        "{r:?}"
    );

    let wrong = UrbackupServer::new(&sim.url(), "admin", "wrong").unwrap();
    assert!(matches!(
        count(&wrong).await,
        Err(UrbackupError::Authentication(_))
    ));
    let small = UrbackupServer::builder(&sim.url())
        .credentials("admin", "secret")
        .max_response_bytes(50_000)
        .build()
        .unwrap();
    assert!(matches!(
        count(&small).await,
        Err(UrbackupError::ResponseTooLarge { .. })
    ));
}

#[test]
fn blocking_twin() {
    let sim = scene().start_blocking().unwrap();
    let s = urbackup::blocking::UrbackupServer::new(&sim.url(), ADMIN.0, ADMIN.1).unwrap();
    let mut names = Vec::new();
    let rest = s.for_each_client_status(|c| names.push(c.name)).unwrap();
    assert!(!rest.server_identity.is_empty());
    assert_eq!(names, ["alpha", "beta", "gamma"]);
}
