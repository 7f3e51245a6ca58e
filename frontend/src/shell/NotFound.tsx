import { Link } from "react-router";

export function NotFound({ home = "/" }: { home?: string }) {
  return (
    <section className="card" aria-labelledby="not-found">
      <h1 id="not-found">Page not found</h1>
      <p>There is nothing at this address. <Link to={home}>Go to the start</Link>.</p>
    </section>
  );
}
