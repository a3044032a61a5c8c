export { CreditsPage } from "./components/CreditsPage";
