// A song's cover, square; until there is one, a gradient of its own colours.
interface CoverProps {
  url: string | undefined;
  // Anything stable for the song (its id): picks the placeholder's colours.
  seed: string;
  className?: string;
  // Covers above the fold load first; the rest lazily.
  eager?: boolean;
}

export function Cover({ url, seed, className = "", eager = false }: CoverProps) {
  const hue = [...seed].reduce((sum, char) => sum + char.charCodeAt(0), 0) % 360;
  return (
    <div
      className={`aspect-square w-full overflow-hidden rounded-xl bg-raised shadow-md ${className}`}
      style={{ background: `linear-gradient(135deg, hsl(${hue} 70% 45%), hsl(${(hue + 60) % 360} 70% 25%))` }}
    >
      {url && (
        <img
          src={url}
          alt=""
          width={512}
          height={512}
          loading={eager ? "eager" : "lazy"}
          decoding="async"
          className="size-full object-cover"
        />
      )}
    </div>
  );
}
