export { BriefingPage } from './components/briefing-page.tsx';
