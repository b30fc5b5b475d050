//! DataFusion's planning refusals that glaux recognises by their text
//! (`glaux::engine::refusals`), provoked from DataFusion itself: when a
//! DataFusion upgrade changes one of these messages, this fails instead
//! of the restatement quietly stopping.

use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use glaux::engine::refusals;

async fn refusal(ctx: &SessionContext, sql: &str) -> DataFusionError {
    let planned = match ctx.sql(sql).await {
        Ok(df) => df,
        Err(e) => return e,
    };
    match planned.into_optimized_plan() {
        Ok(_) => panic!("DataFusion planned {sql}"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn each_refusal_is_recognised_and_only_it() {
    let ctx = SessionContext::new();
    ctx.sql("CREATE TABLE t1 (a INT, b BOOLEAN)").await.unwrap().collect().await.unwrap();
    ctx.sql("CREATE TABLE t2 (a INT, c INT)").await.unwrap().collect().await.unwrap();

    let duplicate = refusal(&ctx, "SELECT 1, 1").await;
    let uncomparable = refusal(&ctx, "SELECT b = 't' FROM t1").await;
    let correlated = refusal(&ctx, "SELECT (SELECT c FROM t2 WHERE t2.a = t1.a) FROM t1").await;
    let missing = refusal(&ctx, "SELECT * FROM nowhere").await;

    assert!(refusals::duplicate_output_names(&duplicate), "{duplicate}");
    assert!(refusals::uncomparable_types(&uncomparable), "{uncomparable}");
    assert!(refusals::unsupported_correlation(&correlated), "{correlated}");
    for (e, name) in
        [(&duplicate, "duplicate"), (&uncomparable, "uncomparable"), (&correlated, "correlated"), (&missing, "missing")]
    {
        let recognised = [
            refusals::duplicate_output_names(e),
            refusals::uncomparable_types(e),
            refusals::unsupported_correlation(e),
        ];
        assert!(recognised.iter().filter(|r| **r).count() <= 1, "{name} recognised twice: {e}");
    }
    assert!(
        !refusals::duplicate_output_names(&missing)
            && !refusals::uncomparable_types(&missing)
            && !refusals::unsupported_correlation(&missing)
    );
}
