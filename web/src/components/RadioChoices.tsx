// One of a few options, as a group of radio buttons under a legend: each radio
// is named by its option's label.

export interface Choice<T extends string> {
  value: T;
  label: string;
}

interface RadioChoicesProps<T extends string> {
  legend: string;
  /** The radios' shared name, which makes them one group for the browser. */
  name: string;
  options: readonly Choice<T>[];
  value: T;
  // Not a source of T: a state setter also takes an updater function.
  onChange(value: NoInfer<T>): void;
}

export function RadioChoices<T extends string>({
  legend,
  name,
  options,
  value,
  onChange,
}: RadioChoicesProps<T>) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {options.map((option) => (
        <label key={option.value} className="choice">
          <input
            type="radio"
            name={name}
            value={option.value}
            checked={value === option.value}
            onChange={() => onChange(option.value)}
          />
          {option.label}
        </label>
      ))}
    </fieldset>
  );
}
