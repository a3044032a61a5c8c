import { InputField } from "./Field";

/** The field for choosing a new password, with the rule the user service
 * enforces (user_service.proto: 8-128 characters). */
export function NewPasswordField({
  error,
  value,
  onChange,
}: {
  error: string | undefined;
  value: string;
  onChange(value: string): void;
}) {
  return (
    <InputField
      label="New password"
      hint="8-128 characters."
      error={error}
      type="password"
      autoComplete="new-password"
      maxLength={128}
      value={value}
      onChange={onChange}
    />
  );
}
