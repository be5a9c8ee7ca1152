/** The console's entry: the router (hash URLs, so any path of the API stays the API's), the session, the GraphQL client. */
import { StrictMode, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { createHashRouter, Navigate, NavLink, Outlet, RouterProvider, useNavigate, useParams } from 'react-router';
import { Provider } from 'urql';
import { createApiClient } from './client.ts';
import { ApiKeys } from './pages/ApiKeys.tsx';
import { Apps } from './pages/Apps.tsx';
import { Board } from './pages/Board.tsx';
import { Connect } from './pages/Connect.tsx';
import { Endpoints } from './pages/Endpoints.tsx';
import { Feed } from './pages/Feed.tsx';
import { Settings } from './pages/Settings.tsx';
import { Signals } from './pages/Signals.tsx';
import { TrialPage } from './pages/trial/TrialPage.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { session } from './session.ts';
import './styles.css';

/** Pages behind the sign-in: the session's token, one client for them all. */
function SignedIn() {
  const token = session.token();
  const navigate = useNavigate();
  const client = useMemo(() => (token ? createApiClient(token) : null), [token]);
  if (!client) return <Navigate to="/sign-in" replace />;
  return (
    <Provider value={client}>
      <header>
        <nav aria-label="Console">
          <span className="brand">Trialcast</span>
          <NavLink to="/" end>
            Apps
          </NavLink>
        </nav>
        <button
          type="button"
          onClick={() => {
            session.signOut();
            navigate('/sign-in');
          }}
        >
          Sign out
        </button>
      </header>
      <Outlet />
    </Provider>
  );
}

/** An app's pages, with their own navigation. */
function AppPages() {
  const { appId = '' } = useParams();
  return (
    <>
      <nav className="app-nav" aria-label="This app">
        <code>{appId}</code>
        <NavLink to={`/apps/${appId}/connect`}>Connect</NavLink>
        <NavLink to={`/apps/${appId}/signals`}>Signal queue</NavLink>
        <NavLink to={`/apps/${appId}/trials`} end>
          Trials
        </NavLink>
        <NavLink to={`/apps/${appId}/feed`}>Live feed</NavLink>
        <NavLink to={`/apps/${appId}/insights`}>Insights</NavLink>
        <NavLink to={`/apps/${appId}/endpoints`}>Endpoints</NavLink>
        <NavLink to={`/apps/${appId}/settings`}>Settings</NavLink>
        <NavLink to={`/apps/${appId}/keys`}>API keys</NavLink>
      </nav>
      <Outlet />
    </>
  );
}

const router = createHashRouter([
  { path: '/sign-in', element: <SignIn /> },
  {
    path: '/',
    element: <SignedIn />,
    children: [
      { index: true, element: <Apps /> },
      {
        path: 'apps/:appId',
        element: <AppPages />,
        children: [
          { index: true, element: <Navigate to="connect" replace /> },
          { path: 'connect', element: <Connect /> },
          { path: 'signals', element: <Signals /> },
          { path: 'trials', element: <Board /> },
          { path: 'trials/:userId', element: <TrialPage /> },
          { path: 'accounts/:accountId', element: <TrialPage /> },
          { path: 'feed', element: <Feed /> },
          // The charts (recharts) load with their page only.
          { path: 'insights', lazy: async () => ({ Component: (await import('./pages/Insights.tsx')).Insights }) },
          { path: 'endpoints', element: <Endpoints /> },
          { path: 'settings', element: <Settings /> },
          { path: 'keys', element: <ApiKeys /> },
        ],
      },
    ],
  },
]);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
