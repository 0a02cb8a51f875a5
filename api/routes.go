package api

// routes lists every route of the API. openapi.yaml describes each one; a test fails if a
// route here is missing from it. Each resource file registers its own routes, platform-admin
// ones included (under /v1/admin).
func (s *Server) routes() {
	e := s.echo

	// Operations.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics.handler())
	e.GET("/openapi.yaml", s.openAPISpec)
	e.GET("/problems/:code", s.problemPage)

	v1 := e.Group("/v1", s.authenticate)
	s.authRoutes(v1) // auth.go: register, verify email, login, refresh, logout, password reset
	s.pageRoutes(e)  // pages.go: HTML pages for links in emails
	s.meRoutes(v1)   // me.go: profile, export, TOTP
	s.orgRoutes(v1)  // orgs.go: orgs, members, invitations, API keys, approval
	s.mailRoutes(v1) // outbox.go: the admin outbox
	s.billingRoutes(v1)
	s.checkoutPageRoutes(e)
	s.enrollmentRoutes(v1)
	s.attemptRoutes(v1)
	s.courseRoutes(v1) // courses.go: catalog, admin course edits; external_credentials.go
	s.examAdminRoutes(v1)
	s.credentialRoutes(v1)      // credentials.go: the holder's credentials and their VC-JWT
	s.issuerRoutes(e)           // issuer.go: key set, did:web document, kid URLs, issuer profile
	s.certificateRoutes(v1)     // credential_pdf.go: the holder's PDF certificate
	s.verifyRoutes(e, v1)       // verify.go, verify_page.go: verification by code, JSON and HTML page
	s.importRoutes(v1)          // credential_import.go: legacy credentials from a CSV file
	s.nameChangeRoutes(v1)      // name_changes.go: name-change requests, their decision and reissue
	s.statusListRoutes(v1)      // status_lists.go: the signed revocation and suspension lists
	s.adminCredentialRoutes(v1) // admin_credentials.go: revoke, suspend, reinstate, history
	s.verifyVCRoutes(v1)        // verify_vc.go: verify a presented VC-JWT
	s.renewalPageRoutes(e)      // renew_page.go, unsubscribe_page.go: the links in reminder emails
	s.jobsDashboardRoutes(e)    // jobs_dashboard.go: admin sign-in and River's UI at /admin/jobs
	s.adminJobRoutes(v1)        // admin_jobs.go: run the reminder scan now, a credential's reminders
	s.cohortRoutes(v1)          // cohorts.go, cohort_invitations.go: cohorts, invitations with seats
	s.rosterRoutes(v1)          // roster.go, compliance.go: a cohort's roster, the org's compliance report
	s.orgVerificationRoutes(v1) // org_verifications.go: bulk verification with signed receipts, a provider's verifiers
	s.eventRoutes(v1)           // watchlist.go, org_events.go, webhooks.go: watchlist, event feed, webhooks
}
