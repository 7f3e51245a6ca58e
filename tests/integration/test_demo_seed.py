"""`wallet seed`: the demo merchants can be used at once, approved by the demo operator."""

from wallet.db.engine import connection
from wallet.seed import seed_demo


async def demo_merchants() -> list[tuple[str, str, str, str | None]]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT m.name, m.approval_status, u.verification_level, d.username AS decided_by "
            "FROM merchant m JOIN app_user u ON u.id = m.owner_user_id "
            "LEFT JOIN app_user d ON d.id = m.approval_decided_by ORDER BY m.id"
        )
    return [
        (r["name"], r["approval_status"], r["verification_level"], r["decided_by"]) for r in rows
    ]


async def test_the_demo_merchants_are_approved_also_in_an_older_database(
    database_url: str,
) -> None:
    await seed_demo()
    expected = [
        ("Corner Coffee", "approved", "basic", "ops"),
        ("City Power", "approved", "basic", "ops"),
    ]
    assert await demo_merchants() == expected
    # A database seeded before merchants needed approval: the migration left them pending.
    async with connection() as conn:
        await conn.execute(
            "UPDATE merchant SET approval_status = 'pending', approval_reason = NULL, "
            "approval_decided_by = NULL, approval_decided_at = NULL"
        )
    assert await seed_demo() == []  # no one new
    assert await demo_merchants() == expected
