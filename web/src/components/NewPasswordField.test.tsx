import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { NewPasswordField } from "./NewPasswordField";

describe("NewPasswordField", () => {
  it("is a new password, with the rule it has to meet and the server's complaint", () => {
    render(<NewPasswordField error="is too short" value="abc" onChange={() => undefined} />);
    const input = screen.getByLabelText("New password");
    expect(input).toHaveAttribute("type", "password");
    expect(input).toHaveAttribute("autocomplete", "new-password");
    expect(input).toHaveAccessibleDescription("8-128 characters. is too short");
  });
});
