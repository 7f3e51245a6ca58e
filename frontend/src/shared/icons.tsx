// Line icons for the navigation and the home actions. Always next to a visible label,
// so they are hidden from assistive technology.

const PATHS = {
  home: "M3 11.5 12 4l9 7.5M5.5 9.5V20h13V9.5",
  pay: "M4 12h14M13 6l6 6-6 6",
  activity: "M4 6h16M4 12h16M4 18h10",
  accounts: "M3 7h18v11H3zM3 11h18M7 15h4",
  profile: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 20c1.5-4 4.5-6 8-6s6.5 2 8 6",
  send: "M5 19 19 5M9 5h10v10",
  request: "M19 5 5 19M15 19H5V9",
  add: "M12 5v14M5 12h14",
  scan: "M4 8V4h4M16 4h4v4M20 16v4h-4M8 20H4v-4M4 12h16",
  shop: "M4 9h16l-1-4H5zM5 9v10h14V9M9 19v-5h6v5",
  console: "M4 5h16v11H4zM8 20h8M12 16v4",
  back: "M15 5l-7 7 7 7",
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, size = 22 }: { name: IconName; size?: number }) {
  return (
    <svg className="icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false"
         fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
      <path d={PATHS[name]} />
    </svg>
  );
}
