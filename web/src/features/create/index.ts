export { CreatePage } from "./components/CreatePage";
