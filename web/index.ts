// The entry web/build.ts bundles for index.html (a page is NAME.ts beside NAME.html); the page
// itself is app.ts.
import "./app.ts";
