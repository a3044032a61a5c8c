// A labelled control with the server's complaint about it (a BadRequest field
// violation) right below, announced to screen readers.
import { useId } from "react";
import type { Problem } from "@/lib/api";

interface FieldProps {
  label: string;
  hint?: string;
  error?: string;
  children: (props: {
    id: string;
    "aria-invalid": boolean;
    "aria-describedby": string | undefined;
  }) => React.ReactNode;
}

export function Field({ label, hint, error, children }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={error ? "field invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(error), "aria-describedby": describedBy })}
      {hint && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={errorId} className="error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

type InputAttributes = Pick<
  React.InputHTMLAttributes<HTMLInputElement>,
  "type" | "autoComplete" | "maxLength" | "inputMode" | "min" | "max" | "step" | "placeholder"
>;

interface InputFieldProps extends InputAttributes {
  label: string;
  hint?: string;
  error?: string;
  // A number is rendered as the input's text, as React does for any input.
  value: string | number;
  onChange(value: string): void;
  /** A textarea of this many rows instead of a one-line input (type, min, max
   * and step are then not used). */
  multiline?: { rows: number };
}

/** A Field around a plain controlled input or textarea: what the user types is
 * handed to onChange as is. */
export function InputField({
  label,
  hint,
  error,
  value,
  onChange,
  multiline,
  ...attributes
}: InputFieldProps) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(props) =>
        multiline ? (
          <textarea
            {...props}
            rows={multiline.rows}
            autoComplete={attributes.autoComplete}
            maxLength={attributes.maxLength}
            inputMode={attributes.inputMode}
            placeholder={attributes.placeholder}
            value={value}
            onChange={(e) => onChange(e.target.value)}
          />
        ) : (
          <input
            {...props}
            {...attributes}
            value={value}
            onChange={(e) => onChange(e.target.value)}
          />
        )
      }
    </Field>
  );
}

export function ErrorBanner({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p className="banner error" role="alert">
      {message}
    </p>
  );
}

/** The banner for what no field shows: the message, or the unknown fields' notes. */
export function generalProblem(problem: Problem | null, shown: string[]): string | undefined {
  if (!problem) return undefined;
  const others = Object.entries(problem.fields).filter(([field]) => !shown.includes(field));
  if (Object.keys(problem.fields).length === 0) return problem.message;
  return others.map(([field, text]) => `${field} ${text}`).join("; ") || undefined;
}
