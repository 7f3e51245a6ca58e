import { NavLink } from "react-router";

export type SectionLink = { to: string; label: string; end?: boolean };

/** A section's own pages (Pay: Send, Request...), as links: each has its URL. */
export function SectionNav({ label, links }: { label: string; links: SectionLink[] }) {
  return (
    <nav className="section-nav" aria-label={label}>
      <ul>
        {links.map((l) => (
          <li key={l.to}>
            <NavLink to={l.to} end={l.end}>{l.label}</NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** The screen's title (each screen has one h1) and what it is for. */
export function ScreenTitle({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <header className="screen-title">
      <h1>{title}</h1>
      {children && <p className="muted">{children}</p>}
    </header>
  );
}
